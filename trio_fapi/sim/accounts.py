"""The account: wallet, positions, leverage, and the margin arithmetic.

One single-asset (USDT) cross account. The rules are deliberately simple and
written down, so tests can compute them by hand:

- a fill opening or adding to a position moves the entry price to the
  quantity-weighted average; a fill reducing it realizes
  ``closed_qty * (fill_price - entry) * direction``;
- realized PnL and commissions are rounded to eight decimals (as Binance
  prints them) and applied to the wallet as they happen, and so are funding
  payments (``-amount * mark * rate``: with a positive rate longs pay), so
  ``wallet - initial == sum(realized) - sum(commission) + sum(funding)``
  holds exactly;
- initial margin is ``notional / leverage``, for positions at the mark price
  and for open orders at their limit price. Open orders that can only close
  the current position reserve nothing; reduce-only orders reserve nothing;
- available balance = wallet + unrealized PnL - position margin - open-order
  margin. An order that would push it below zero gets -2019.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import attrs

from trio_fapi.protocol.enums import MarginType, OrderSide, PositionSide

from .records import SimOrder

__all__ = ["Account", "PositionState", "max_notional_for"]

_ZERO = Decimal(0)
_MONEY = Decimal("0.00000001")


def max_notional_for(leverage: int) -> Decimal:
    """A synthetic leverage bracket: higher leverage, smaller maximum position."""
    return Decimal(1_000_000_000) / Decimal(leverage * leverage)


@attrs.define(eq=False)
class PositionState:
    """One position (``BOTH`` in one-way mode, ``LONG``/``SHORT`` in hedge mode).

    ``amount`` is signed: negative is short (also for ``SHORT`` in hedge mode,
    as Binance reports it). ``realized``, ``commission`` and ``funding``
    accumulate over the position's life (what it earned before fees, what its
    fills paid, what funding paid it), so PnL can be reported per symbol.
    """

    symbol: str
    side: PositionSide
    amount: Decimal = _ZERO
    entry_price: Decimal = _ZERO
    update_time: int = 0
    realized: Decimal = _ZERO
    commission: Decimal = _ZERO
    funding: Decimal = _ZERO

    def unrealized(self, mark: Decimal) -> Decimal:
        """Unrealized PnL at ``mark``."""
        return self.amount * (mark - self.entry_price) if self.amount else _ZERO


@attrs.define(eq=False)
class Account:
    """The one account of the simulated exchange."""

    asset: str
    wallet: Decimal
    default_leverage: int
    dual_side: bool = False
    leverage: dict[str, int] = attrs.field(factory=dict)
    margin_type: dict[str, MarginType] = attrs.field(factory=dict)
    positions: dict[tuple[str, PositionSide], PositionState] = attrs.field(factory=dict)
    realized_total: Decimal = _ZERO
    fees_total: Decimal = _ZERO
    funding_total: Decimal = _ZERO
    update_time: int = 0

    def leverage_of(self, symbol: str) -> int:
        """The symbol's leverage."""
        return self.leverage.get(symbol, self.default_leverage)

    def margin_type_of(self, symbol: str) -> MarginType:
        """The symbol's margin type (CROSSED until changed)."""
        return self.margin_type.get(symbol, MarginType.CROSSED)

    def position_sides(self) -> tuple[PositionSide, ...]:
        """The position sides the current mode uses."""
        return (PositionSide.LONG, PositionSide.SHORT) if self.dual_side else (PositionSide.BOTH,)

    def position(self, symbol: str, side: PositionSide) -> PositionState:
        """The position (created flat on first use)."""
        key = (symbol, side)
        found = self.positions.get(key)
        if found is None:
            found = self.positions[key] = PositionState(symbol=symbol, side=side)
        return found

    def has_positions(self) -> bool:
        """Whether any position is open."""
        return any(p.amount != 0 for p in self.positions.values())

    def closable(self, symbol: str, position_side: PositionSide, side: OrderSide) -> Decimal:
        """How much an order of ``side`` can reduce the position (0 if it would add)."""
        amount = self.position(symbol, position_side).amount
        if position_side is PositionSide.LONG:
            return amount if side is OrderSide.SELL else _ZERO
        if position_side is PositionSide.SHORT:
            return -amount if side is OrderSide.BUY else _ZERO
        if amount > 0 and side is OrderSide.SELL:
            return amount
        if amount < 0 and side is OrderSide.BUY:
            return -amount
        return _ZERO

    def apply_fill(
        self,
        symbol: str,
        position_side: PositionSide,
        side: OrderSide,
        qty: Decimal,
        price: Decimal,
        commission: Decimal,
        now_ms: int,
    ) -> Decimal:
        """Apply one fill to the position and the wallet.

        Returns:
            The realized PnL of the fill (eight decimals).
        """
        pos = self.position(symbol, position_side)
        delta = qty if side is OrderSide.BUY else -qty
        amount = pos.amount
        realized = _ZERO
        if amount == 0 or (amount > 0) == (delta > 0):
            new_amount = amount + delta
            pos.entry_price = (abs(amount) * pos.entry_price + qty * price) / abs(new_amount)
        else:
            closed = min(qty, abs(amount))
            direction = 1 if amount > 0 else -1
            realized = (closed * (price - pos.entry_price) * direction).quantize(_MONEY)
            new_amount = amount + delta
            if new_amount == 0:
                pos.entry_price = _ZERO
            elif (new_amount > 0) != (amount > 0):
                pos.entry_price = price
        pos.amount = new_amount
        pos.update_time = now_ms
        fee = commission.quantize(_MONEY)
        pos.realized += realized
        pos.commission += fee
        self.wallet += realized - fee
        self.realized_total += realized
        self.fees_total += fee
        self.update_time = now_ms
        return realized

    def apply_funding(
        self, symbol: str, mark: Decimal, rate: Decimal, now_ms: int
    ) -> list[tuple[PositionState, Decimal]]:
        """Settle one funding payment on every open position of ``symbol``.

        Binance charges ``position notional * rate`` at each funding time: with a
        positive rate longs pay shorts. The payment is rounded to eight decimals
        and booked to the wallet at once, like a fee.

        Returns:
            Each position that paid or received, with what the wallet gained.
        """
        settled: list[tuple[PositionState, Decimal]] = []
        for pos in list(self.positions.values()):
            if pos.symbol != symbol or pos.amount == 0:
                continue
            payment = (-pos.amount * mark * rate).quantize(_MONEY)
            pos.funding += payment
            pos.update_time = now_ms
            self.wallet += payment
            self.funding_total += payment
            self.update_time = now_ms
            settled.append((pos, payment))
        return settled

    # -- margin -------------------------------------------------------------------

    def unrealized(self, marks: Mapping[str, Decimal], symbol: str | None = None) -> Decimal:
        """Unrealized PnL of every position (or of one symbol's)."""
        return sum(
            (
                p.unrealized(marks[p.symbol])
                for p in self.positions.values()
                if p.amount and (symbol is None or p.symbol == symbol)
            ),
            _ZERO,
        )

    def position_margin(self, marks: Mapping[str, Decimal], symbol: str | None = None) -> Decimal:
        """Initial margin of the positions (notional at mark / leverage)."""
        return sum(
            (
                abs(p.amount) * marks[p.symbol] / self.leverage_of(p.symbol)
                for p in self.positions.values()
                if p.amount and (symbol is None or p.symbol == symbol)
            ),
            _ZERO,
        )

    def order_margin(
        self, orders: Iterable[SimOrder], marks: Mapping[str, Decimal], symbol: str | None = None
    ) -> Decimal:
        """Initial margin reserved by open orders (see the module docstring)."""
        sums: dict[tuple[str, PositionSide, OrderSide], Decimal] = {}
        for order in orders:
            if order.reduce_only or not order.is_open or order.remaining <= 0:
                continue
            if symbol is not None and order.symbol != symbol:
                continue
            key = (order.symbol, order.position_side, order.side)
            sums[key] = sums.get(key, _ZERO) + order.remaining * order.price
        total = _ZERO
        for (sym, position_side, side), notional in sums.items():
            closing = self.closable(sym, position_side, side) * marks[sym]
            total += max(_ZERO, notional - closing) / self.leverage_of(sym)
        return total

    def available(self, orders: Iterable[SimOrder], marks: Mapping[str, Decimal]) -> Decimal:
        """Wallet + unrealized - position margin - open-order margin."""
        return (
            self.wallet
            + self.unrealized(marks)
            - self.position_margin(marks)
            - self.order_margin(orders, marks)
        )
