"""Orders and fills as the paper broker reports them: frozen snapshots.

The ledger's own records are mutable and private to it; what leaves the broker
is a copy taken at one instant, so a callback or a caller can keep it without
seeing it change, and cannot change the venue's state through it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import final

import attrs

from trio_fapi.protocol.enums import (
    TERMINAL_STATUSES,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
)
from trio_fapi.sim.records import Execution, SimOrder

__all__ = ["PaperFill", "PaperOrder"]


@final
@attrs.frozen(kw_only=True)
class PaperOrder:
    """One order at one instant.

    Attributes:
        symbol: The symbol.
        order_id: The venue's order id (an int, growing per symbol).
        client_order_id: The client order id (generated when none was given).
        side: BUY or SELL.
        order_type: LIMIT or MARKET.
        time_in_force: GTC, IOC, FOK, GTX or GTD; ``None`` for MARKET.
        quantity: What was ordered.
        price: The limit price; ``None`` for MARKET.
        status: NEW, PARTIALLY_FILLED, FILLED, CANCELED or EXPIRED.
        filled_qty: What has filled so far.
        avg_price: The average fill price (``0`` before any fill).
        cum_quote: The filled notional, ``sum(price * qty)``.
        position_side: BOTH in one-way mode, LONG or SHORT in hedge mode.
        reduce_only: Whether it may only reduce the position.
        time: When the venue accepted it (epoch milliseconds).
        update_time: When it last changed.
        expiry_reason: Binance's ``er`` code when it EXPIRED (2: IOC/FOK rest,
            4: reduce-only with nothing left to reduce, 9: market order ran out
            of book), else ``0``.
    """

    symbol: str
    order_id: int
    client_order_id: str
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce | None
    quantity: Decimal
    price: Decimal | None
    status: OrderStatus
    filled_qty: Decimal
    avg_price: Decimal
    cum_quote: Decimal
    position_side: PositionSide
    reduce_only: bool
    time: int
    update_time: int
    expiry_reason: int = 0

    @classmethod
    def from_sim(cls, order: SimOrder) -> PaperOrder:
        """Snapshot the ledger's order."""
        market = order.order_type is OrderType.MARKET
        return cls(
            symbol=order.symbol,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            side=order.side,
            order_type=order.order_type,
            time_in_force=None if market else order.time_in_force,
            quantity=order.orig_qty,
            price=None if market else order.price,
            status=order.status,
            filled_qty=order.executed_qty,
            avg_price=order.avg_price,
            cum_quote=order.cum_quote,
            position_side=order.position_side,
            reduce_only=order.reduce_only,
            time=order.time,
            update_time=order.update_time,
            expiry_reason=order.expiry_reason,
        )

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill."""
        return self.quantity - self.filled_qty

    @property
    def is_open(self) -> bool:
        """Whether it can still fill or be canceled."""
        return self.status not in TERMINAL_STATUSES


@final
@attrs.frozen(kw_only=True)
class PaperFill:
    """One execution of one order.

    Attributes:
        trade_id: The venue's trade id.
        symbol: The symbol.
        order_id: The order it filled.
        client_order_id: That order's client id.
        side: The order's side.
        position_side: The position it changed.
        price: The fill price.
        quantity: The fill quantity.
        commission: What it cost (``price * quantity * rate``, eight decimals).
        commission_asset: The asset the commission was paid in.
        realized_pnl: PnL realized by this fill (before the commission).
        maker: True when the order rested on the book (maker rate).
        time: When it happened (epoch milliseconds).
    """

    trade_id: int
    symbol: str
    order_id: int
    client_order_id: str
    side: OrderSide
    position_side: PositionSide
    price: Decimal
    quantity: Decimal
    commission: Decimal
    commission_asset: str
    realized_pnl: Decimal
    maker: bool
    time: int

    @classmethod
    def from_execution(cls, execution: Execution) -> PaperFill:
        """Copy the ledger's execution."""
        return cls(
            trade_id=execution.trade_id,
            symbol=execution.symbol,
            order_id=execution.order_id,
            client_order_id=execution.client_order_id,
            side=execution.side,
            position_side=execution.position_side,
            price=execution.price,
            quantity=execution.qty,
            commission=execution.commission,
            commission_asset=execution.commission_asset,
            realized_pnl=execution.realized_pnl,
            maker=execution.maker,
            time=execution.time,
        )

    @property
    def quote_qty(self) -> Decimal:
        """``price * quantity``."""
        return self.price * self.quantity
