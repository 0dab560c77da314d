"""Slippage models: how far from the touch an aggressive order fills.

A model is a :class:`~trio_fapi.sim.matching.TakePlanner`: the simulated
exchange's ledger asks it for the fills of every taker order, so the model
that prices :meth:`PaperBroker.simulate_slippage` is the one that prices real
paper fills. There is no second matching engine.

- :class:`BookWalkSlippageModel` (the default) walks the book level by level,
  consuming the quantity resting at each price; a large order pays for the
  depth it eats, and what the book cannot hold is not filled.
- :class:`LinearSlippageModel` ignores depth and charges
  ``base_bps + impact_bps_per_unit * quantity`` basis points away from the
  touch, rounded a whole tick against the taker. It is the model to use when
  the data has no depth (klines, last prices).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import final

import attrs

from trio_fapi.protocol.enums import OrderSide
from trio_fapi.sim.market import Level
from trio_fapi.sim.matching import Fill, walk_book, within

from .market_data import OrderBook, non_negative

__all__ = ["BookWalkSlippageModel", "LinearSlippageModel", "SlippageEstimate", "SlippageModel"]

_ZERO = Decimal(0)
_BPS = Decimal(10_000)


@final
@attrs.frozen(kw_only=True)
class SlippageEstimate:
    """What an aggressive order would get, and what that costs against the touch.

    Attributes:
        side: The order's side.
        quantity: What the order asked for.
        filled_qty: What would fill (less than ``quantity`` when the book or the
            limit price runs out).
        average_price: The average fill price, ``None`` when nothing fills.
        touch_price: The best opposite price (the ask for a BUY), ``None`` on
            an empty side.
        slippage: How much worse than the touch the average is, per unit
            (never negative for a taker).
        slippage_bps: ``slippage`` in basis points of the touch.
    """

    side: OrderSide
    quantity: Decimal
    filled_qty: Decimal
    average_price: Decimal | None
    touch_price: Decimal | None
    slippage: Decimal
    slippage_bps: Decimal


class SlippageModel(abc.ABC):
    """Prices aggressive orders; plugs into the ledger as its take planner."""

    @abc.abstractmethod
    def __call__(
        self,
        levels: Sequence[Level],
        side: OrderSide,
        limit: Decimal | None,
        qty: Decimal,
        tick: Decimal,
        /,
    ) -> list[Fill]:
        """The fills of a taker order (see :class:`~trio_fapi.sim.matching.TakePlanner`)."""

    def estimate(
        self,
        book: OrderBook,
        side: OrderSide,
        quantity: Decimal,
        *,
        limit: Decimal | None = None,
        tick: Decimal = _ZERO,
    ) -> SlippageEstimate:
        """Price ``quantity`` against ``book`` without trading.

        Args:
            book: The book to price against.
            side: The order's side.
            quantity: How much it wants.
            limit: Its limit price (``None`` for MARKET).
            tick: The tick size prices snap to (``0``: no snapping).
        """
        opposite = book.asks if side is OrderSide.BUY else book.bids
        levels = [Level(lv.price, lv.quantity) for lv in opposite]
        fills = self(levels, side, limit, quantity, tick)
        filled = sum((f.qty for f in fills), _ZERO)
        touch = levels[0].price if levels else None
        average = sum((f.price * f.qty for f in fills), _ZERO) / filled if filled > 0 else None
        if average is None or touch is None:
            slip = _ZERO
        else:
            slip = average - touch if side is OrderSide.BUY else touch - average
        return SlippageEstimate(
            side=side,
            quantity=quantity,
            filled_qty=filled,
            average_price=average,
            touch_price=touch,
            slippage=slip,
            slippage_bps=slip / touch * _BPS if touch else _ZERO,
        )


@final
class BookWalkSlippageModel(SlippageModel):
    """Walk the book best level first, taking what rests at each price."""

    def __call__(
        self,
        levels: Sequence[Level],
        side: OrderSide,
        limit: Decimal | None,
        qty: Decimal,
        tick: Decimal,
        /,
    ) -> list[Fill]:
        """The depth walk of the simulated exchange."""
        return walk_book(levels, side, limit, qty, tick)

    def __repr__(self) -> str:
        return "BookWalkSlippageModel()"


def _base(value: object) -> Decimal:
    return non_negative(value, field="base_bps")


def _impact(value: object) -> Decimal:
    return non_negative(value, field="impact_bps_per_unit")


@final
@attrs.frozen(kw_only=True)
class LinearSlippageModel(SlippageModel):
    """Fill the whole order at one price: the touch moved by base plus size impact.

    A BUY of ``q`` fills at ``ask * (1 + (base_bps + impact_bps_per_unit * q) / 10000)``
    rounded up to the tick, a SELL at the mirror image rounded down. Depth is
    not consumed. A limit order whose modelled price is past its limit takes
    nothing, and rests (or, for FOK, is refused with -5021).

    Attributes:
        base_bps: Slippage every taker order pays, in basis points.
        impact_bps_per_unit: Extra basis points per unit of quantity (one BTC
            of BTCUSDT), so impact grows linearly with size.
    """

    base_bps: Decimal = attrs.field(default=_ZERO, converter=_base)
    impact_bps_per_unit: Decimal = attrs.field(default=_ZERO, converter=_impact)

    def __call__(
        self,
        levels: Sequence[Level],
        side: OrderSide,
        limit: Decimal | None,
        qty: Decimal,
        tick: Decimal,
        /,
    ) -> list[Fill]:
        """One fill at the modelled price, or none."""
        if not levels or qty <= 0:
            return []
        touch = levels[0].price
        fraction = (self.base_bps + self.impact_bps_per_unit * qty) / _BPS
        if side is OrderSide.BUY:
            price = _snap(touch * (1 + fraction), tick, ROUND_CEILING)
        else:
            price = _snap(touch * (1 - fraction), tick, ROUND_FLOOR)
        if price <= 0 or not within(side, limit, price):
            return []
        return [Fill(price, qty)]


def _snap(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    if tick <= 0:
        return price
    return (price / tick).to_integral_value(rounding=rounding) * tick
