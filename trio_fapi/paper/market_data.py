"""Market data as the paper broker shows it: a quote and an order book.

Pure values, Decimal throughout: every number goes through
:func:`~trio_fapi.protocol.numbers.to_decimal`, so a float is refused rather
than silently rounded. The broker builds these from the simulated market it
trades on, and accepts them from the user (to push a quote, or to ask what an
order would cost).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import final

import attrs

from trio_fapi.protocol.errors import InvalidNumber
from trio_fapi.protocol.numbers import to_decimal

from .errors import InvalidMarketData

__all__ = ["MarketData", "OrderBook", "OrderBookLevel", "non_negative"]

_ZERO = Decimal(0)
_TWO = Decimal(2)
_HUNDRED = Decimal(100)


def non_negative(value: object, *, field: str) -> Decimal:
    """An exact number that may be zero but not negative (sizes, volumes, rates).

    Raises:
        InvalidNumber: A float, bool, NaN, bad text, or a negative value.
    """
    result = to_decimal(value, field=field, positive=False)
    if result < 0:
        raise InvalidNumber(field=field, value=repr(value), reason="must not be negative")
    return result


def _bid(value: object) -> Decimal:
    return to_decimal(value, field="bid")


def _ask(value: object) -> Decimal:
    return to_decimal(value, field="ask")


def _last(value: object) -> Decimal:
    return to_decimal(value, field="last_price")


def _price(value: object) -> Decimal:
    return to_decimal(value, field="price")


def _volume(value: object) -> Decimal:
    return non_negative(value, field="volume")


def _quantity(value: object) -> Decimal:
    return non_negative(value, field="quantity")


def _bid_qty(value: object) -> Decimal | None:
    return None if value is None else non_negative(value, field="bid_qty")


def _ask_qty(value: object) -> Decimal | None:
    return None if value is None else non_negative(value, field="ask_qty")


@final
@attrs.frozen(kw_only=True)
class MarketData:
    """One quote: best bid and ask, last trade price, traded volume.

    Attributes:
        symbol: The symbol, as Binance spells it.
        bid: The best bid.
        ask: The best ask; must be above ``bid``.
        last: The last traded price (the broker also uses it as the mark price).
        volume: Traded volume reported with the quote (informational).
        time: Epoch milliseconds of the quote, ``0`` when unknown.
        bid_qty: The size at the best bid, when the data has it.
        ask_qty: The size at the best ask, when the data has it.

    Raises:
        InvalidNumber: A float, bool, NaN, a non-positive price or a negative size.
        InvalidMarketData: A crossed or locked quote.
    """

    symbol: str
    bid: Decimal = attrs.field(converter=_bid)
    ask: Decimal = attrs.field(converter=_ask)
    last: Decimal = attrs.field(converter=_last)
    volume: Decimal = attrs.field(default=_ZERO, converter=_volume)
    time: int = 0
    bid_qty: Decimal | None = attrs.field(default=None, converter=_bid_qty)
    ask_qty: Decimal | None = attrs.field(default=None, converter=_ask_qty)

    def __attrs_post_init__(self) -> None:
        if self.ask <= self.bid:
            raise InvalidMarketData(
                symbol=self.symbol, reason=f"ask {self.ask} is not above bid {self.bid}"
            )

    @property
    def mid_price(self) -> Decimal:
        """Halfway between bid and ask."""
        return (self.bid + self.ask) / _TWO

    @property
    def spread(self) -> Decimal:
        """Ask minus bid."""
        return self.ask - self.bid

    @property
    def spread_pct(self) -> Decimal:
        """The spread as a percentage of the mid price."""
        return self.spread / self.mid_price * _HUNDRED


@final
@attrs.frozen(kw_only=True)
class OrderBookLevel:
    """One price level: the price and the quantity resting there."""

    price: Decimal = attrs.field(converter=_price)
    quantity: Decimal = attrs.field(converter=_quantity)


def _bids(levels: Iterable[OrderBookLevel]) -> tuple[OrderBookLevel, ...]:
    return tuple(sorted(levels, key=lambda lv: -lv.price))


def _asks(levels: Iterable[OrderBookLevel]) -> tuple[OrderBookLevel, ...]:
    return tuple(sorted(levels, key=lambda lv: lv.price))


@final
@attrs.frozen(kw_only=True)
class OrderBook:
    """Both sides of a book, best level first (the constructor sorts them).

    Attributes:
        symbol: The symbol.
        bids: Buy levels, highest price first.
        asks: Sell levels, lowest price first.
        update_id: The venue's book version (grows with every change).
        time: Epoch milliseconds of the snapshot, ``0`` when unknown.
    """

    symbol: str
    bids: tuple[OrderBookLevel, ...] = attrs.field(default=(), converter=_bids)
    asks: tuple[OrderBookLevel, ...] = attrs.field(default=(), converter=_asks)
    update_id: int = 0
    time: int = 0

    @classmethod
    def from_market_data(cls, data: MarketData, *, default_qty: Decimal) -> OrderBook:
        """A one-level book from a quote; ``default_qty`` stands in for unknown sizes."""
        bid_qty = data.bid_qty if data.bid_qty is not None else default_qty
        ask_qty = data.ask_qty if data.ask_qty is not None else default_qty
        return cls(
            symbol=data.symbol,
            bids=(OrderBookLevel(price=data.bid, quantity=bid_qty),),
            asks=(OrderBookLevel(price=data.ask, quantity=ask_qty),),
            time=data.time,
        )

    def get_best_bid(self) -> OrderBookLevel | None:
        """The highest bid level, or ``None`` on an empty side."""
        return self.bids[0] if self.bids else None

    def get_best_ask(self) -> OrderBookLevel | None:
        """The lowest ask level, or ``None`` on an empty side."""
        return self.asks[0] if self.asks else None

    def get_mid_price(self) -> Decimal | None:
        """Halfway between the best bid and ask, or ``None`` when a side is empty."""
        bid, ask = self.get_best_bid(), self.get_best_ask()
        if bid is None or ask is None:
            return None
        return (bid.price + ask.price) / _TWO
