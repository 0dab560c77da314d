"""What the ledger stores: orders, executions, and the order-update event log.

Orders are mutable (the ledger is their only owner); executions and events are
frozen and appended, never edited, so a later user-data stream can replay them
in order. Every number leaves through :func:`~trio_fapi.protocol.numbers.fmt`
at the symbol's tick or step precision, so the same value prints the same way
in a REST answer, an event and ``/sim/ledger``.

The ledger also tells observers what happened, as it happens, with
:data:`LedgerEvent` values: :class:`OrderChanged` (an order was accepted,
traded, amended, canceled or expired) and :class:`FundingSettled`, so the
paper broker's callbacks and a user-data stream can both be fed from one
place. Observers are plain synchronous callables, called in the middle of a
ledger operation (between the fills of one order, for instance): they should
record the event and return, never call back into the ledger, and never raise.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import final

import attrs

from trio_fapi.protocol.enums import (
    TERMINAL_STATUSES,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
    WorkingType,
)
from trio_fapi.protocol.numbers import fmt

__all__ = [
    "Execution",
    "ExecutionType",
    "FundingSettled",
    "LedgerEvent",
    "LedgerObserver",
    "OrderChanged",
    "OrderUpdate",
    "SimOrder",
    "money",
    "quantized",
]

_ZERO = Decimal(0)
_MONEY = Decimal("0.00000001")


def quantized(value: Decimal, unit: Decimal) -> str:
    """``value`` printed with as many decimals as ``unit`` has (``0.10`` gives two)."""
    if unit <= 0:
        return fmt(value)
    return fmt(value.quantize(unit))


def money(value: Decimal) -> str:
    """A USDT amount with Binance's eight decimals."""
    return fmt(value.quantize(_MONEY))


@attrs.define(eq=False, kw_only=True)
class SimOrder:
    """One order on the exchange, open or finished."""

    symbol: str
    order_id: int
    client_order_id: str
    side: OrderSide
    order_type: OrderType
    orig_type: OrderType
    time_in_force: TimeInForce
    price: Decimal
    orig_qty: Decimal
    position_side: PositionSide
    reduce_only: bool = False
    close_position: bool = False
    stop_price: Decimal = _ZERO
    working_type: WorkingType = WorkingType.CONTRACT_PRICE
    price_protect: bool = False
    good_till_date: int = 0
    time: int
    update_time: int
    tick: Decimal
    step: Decimal
    executed_qty: Decimal = _ZERO
    cum_quote: Decimal = _ZERO
    status: OrderStatus = OrderStatus.NEW
    expiry_reason: int = 0
    modifications: int = 0

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill."""
        return self.orig_qty - self.executed_qty

    @property
    def is_open(self) -> bool:
        """Whether the order can still fill or be canceled."""
        return self.status not in TERMINAL_STATUSES

    @property
    def avg_price(self) -> Decimal:
        """Average fill price: on the tick grid when exact, else to eight decimals."""
        if self.executed_qty == 0:
            return _ZERO
        avg = self.cum_quote / self.executed_qty
        on_grid = avg.quantize(self.tick) if self.tick > 0 else avg
        return on_grid if on_grid == avg else avg.quantize(_MONEY)

    def avg_price_text(self) -> str:
        """:attr:`avg_price` as REST answers and events print it."""
        avg = self.avg_price
        return quantized(avg, self.tick) if avg == 0 else fmt(avg)

    def quote_unit(self) -> Decimal:
        """The precision of ``price * qty`` (ticks times steps)."""
        return self.tick * self.step if self.tick > 0 and self.step > 0 else _MONEY

    def to_wire(self) -> dict[str, object]:
        """The order object of new / cancel / query / list answers (binance-fapi.md 6.5)."""
        return {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": self.status.value,
            "clientOrderId": self.client_order_id,
            "price": quantized(self.price, self.tick),
            "avgPrice": self.avg_price_text(),
            "origQty": quantized(self.orig_qty, self.step),
            "executedQty": quantized(self.executed_qty, self.step),
            "cumQty": quantized(self.executed_qty, self.step),
            "cumQuote": quantized(self.cum_quote, self.quote_unit()),
            "timeInForce": self.time_in_force.value,
            "type": self.order_type.value,
            "reduceOnly": self.reduce_only,
            "closePosition": self.close_position,
            "side": self.side.value,
            "positionSide": self.position_side.value,
            "stopPrice": quantized(self.stop_price, self.tick),
            "workingType": self.working_type.value,
            "priceProtect": self.price_protect,
            "origType": self.orig_type.value,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": self.good_till_date,
            "time": self.time,
            "updateTime": self.update_time,
        }


@final
@attrs.frozen(kw_only=True)
class Execution:
    """One fill of one order against the book (a row of ``userTrades``)."""

    trade_id: int
    symbol: str
    order_id: int
    client_order_id: str
    side: OrderSide
    position_side: PositionSide
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    realized_pnl: Decimal
    maker: bool
    time: int
    tick: Decimal
    step: Decimal

    @property
    def quote_qty(self) -> Decimal:
        """``price * qty``."""
        return self.price * self.qty

    def to_wire(self) -> dict[str, object]:
        """The ``GET /fapi/v1/userTrades`` row."""
        return {
            "buyer": self.side is OrderSide.BUY,
            "commission": money(self.commission),
            "commissionAsset": self.commission_asset,
            "id": self.trade_id,
            "maker": self.maker,
            "orderId": self.order_id,
            "price": quantized(self.price, self.tick),
            "qty": quantized(self.qty, self.step),
            "quoteQty": quantized(self.quote_qty, self.tick * self.step),
            "realizedPnl": money(self.realized_pnl),
            "side": self.side.value,
            "positionSide": self.position_side.value,
            "symbol": self.symbol,
            "time": self.time,
        }


@final
@attrs.frozen(kw_only=True)
class OrderUpdate:
    """One ``ORDER_TRADE_UPDATE`` event: a status change or a fill.

    ``o`` holds the event's ``o`` object exactly as the user-data stream will
    send it; the mapping is read-only.
    """

    event_time: int
    transaction_time: int
    o: Mapping[str, object]

    @classmethod
    def of(
        cls,
        order: SimOrder,
        execution_type: str,
        now_ms: int,
        *,
        fill: Execution | None = None,
        bids_notional: Decimal = _ZERO,
        asks_notional: Decimal = _ZERO,
    ) -> OrderUpdate:
        """Snapshot ``order`` after a change of kind ``execution_type``."""
        o: dict[str, object] = {
            "s": order.symbol,
            "c": order.client_order_id,
            "S": order.side.value,
            "o": order.order_type.value,
            "f": order.time_in_force.value,
            "q": quantized(order.orig_qty, order.step),
            "p": quantized(order.price, order.tick),
            "ap": order.avg_price_text(),
            "sp": quantized(order.stop_price, order.tick),
            "x": execution_type,
            "X": order.status.value,
            "i": order.order_id,
            "l": quantized(fill.qty if fill else _ZERO, order.step),
            "z": quantized(order.executed_qty, order.step),
            "L": quantized(fill.price if fill else _ZERO, order.tick),
            "T": now_ms,
            "t": fill.trade_id if fill else 0,
            "b": money(bids_notional),
            "a": money(asks_notional),
            "m": fill.maker if fill else False,
            "R": order.reduce_only,
            "wt": order.working_type.value,
            "ot": order.orig_type.value,
            "ps": order.position_side.value,
            "cp": order.close_position,
            "rp": money(fill.realized_pnl if fill else _ZERO),
            "pP": order.price_protect,
            "si": 0,
            "ss": 0,
            "V": "EXPIRE_MAKER",
            "pm": "NONE",
            "gtd": order.good_till_date,
            "er": str(order.expiry_reason),
        }
        if fill is not None:
            o["N"] = fill.commission_asset
            o["n"] = money(fill.commission)
        return cls(event_time=now_ms, transaction_time=now_ms, o=MappingProxyType(o))

    def to_wire(self) -> dict[str, object]:
        """The whole event as the user-data stream sends it."""
        return {
            "e": "ORDER_TRADE_UPDATE",
            "E": self.event_time,
            "T": self.transaction_time,
            "o": dict(self.o),
        }


class ExecutionType(enum.StrEnum):
    """What happened to an order (``x`` in ORDER_TRADE_UPDATE), in Binance's words."""

    NEW = "NEW"
    TRADE = "TRADE"
    AMENDMENT = "AMENDMENT"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"


@final
@attrs.frozen(kw_only=True)
class OrderChanged:
    """An order was accepted, traded, amended, canceled or expired.

    Attributes:
        execution_type: What happened.
        order: A detached copy of the order just after the change; the ledger
            keeps changing its own copy, this one never changes.
        fill: The execution, for ``TRADE`` changes.
        update: The same change as the user-data stream's ORDER_TRADE_UPDATE.
    """

    execution_type: ExecutionType
    order: SimOrder
    fill: Execution | None
    update: OrderUpdate

    @property
    def time(self) -> int:
        """When it happened (server milliseconds)."""
        return self.update.event_time


@final
@attrs.frozen(kw_only=True)
class FundingSettled:
    """A funding payment was applied to one position.

    Attributes:
        symbol: The position's symbol.
        position_side: ``BOTH`` in one-way mode, ``LONG``/``SHORT`` in hedge mode.
        position_amount: The signed position size the payment was computed on.
        mark_price: The mark price used.
        rate: The funding rate (positive: longs pay shorts).
        payment: What the wallet gained (negative when the position paid).
        time: When it was applied (server milliseconds).
    """

    symbol: str
    position_side: PositionSide
    position_amount: Decimal
    mark_price: Decimal
    rate: Decimal
    payment: Decimal
    time: int


#: Everything a ledger observer can be told.
LedgerEvent = OrderChanged | FundingSettled
#: Called synchronously by the ledger with each event, in order; records it, never raises.
LedgerObserver = Callable[[LedgerEvent], None]
