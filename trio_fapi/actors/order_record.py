"""The symbol actor's private record of one order, and how reports update it."""

from __future__ import annotations

from decimal import Decimal

import attrs
import trio

from trio_fapi.protocol import order_fsm
from trio_fapi.protocol.algo import AlgoOrder
from trio_fapi.protocol.enums import OrderStatus, OrderType
from trio_fapi.protocol.errors import EngineError
from trio_fapi.protocol.ids import ClientOrderId, VenueOrderId
from trio_fapi.protocol.messages import (
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSnapshot,
)
from trio_fapi.protocol.order_fsm import OrderEvent as FsmEvent
from trio_fapi.protocol.orders import OrderRequest
from trio_fapi.protocol.trades import AccountTrade
from trio_fapi.protocol.user_events import StreamOrder
from trio_fapi.protocol.wire import VenueOrder

__all__ = ["OrderRecord", "STATUS_EVENTS"]

_ZERO = Decimal(0)

#: Exchange status in a report -> state-machine event.
STATUS_EVENTS = {
    OrderStatus.NEW: FsmEvent.ACCEPT,
    OrderStatus.PARTIALLY_FILLED: FsmEvent.PARTIAL_FILL,
    OrderStatus.FILLED: FsmEvent.FILL,
    OrderStatus.CANCELED: FsmEvent.CANCEL,
    OrderStatus.EXPIRED: FsmEvent.EXPIRE,
    OrderStatus.EXPIRED_IN_MATCH: FsmEvent.EXPIRE_IN_MATCH,
    OrderStatus.REJECTED: FsmEvent.REJECT,
}


@attrs.define(eq=False)
class OrderRecord:
    """Mutable, owned by exactly one symbol actor; others see snapshots."""

    strategy: str
    request: OrderRequest
    client_order_id: ClientOrderId
    status: OrderStatus = OrderStatus.PENDING_NEW
    venue_order_id: VenueOrderId | None = None
    executed_qty: Decimal = _ZERO
    cum_quote: Decimal = _ZERO
    avg_price: Decimal = _ZERO
    error: str | None = None
    failure: EngineError | None = None
    update_time: int = 0
    sent_at: float = 0.0  # trio time the placement's outcome arrived (no earlier than its send)
    settled: trio.Event = attrs.field(factory=trio.Event)
    busy: int = 0  # jobs in flight for this order
    #: The journal's id for this order's placement intent (``None``: no journal).
    intent_id: int | None = None
    #: Whether the journal has been told the order is terminal.
    journaled_terminal: bool = False
    #: MODIFY intents whose outcome was unknown: settled when the order is done.
    open_modifies: list[int] = attrs.field(factory=list)
    #: Trades seen (stream or userTrades): trade id -> quantity; dedups fills (row 38).
    trades: dict[int, Decimal] = attrs.field(factory=dict)
    commission: Decimal = _ZERO

    @property
    def is_algo(self) -> bool:
        """Whether the order lives in the Algo Service."""
        return self.request.is_algo

    def snapshot(self) -> OrderSnapshot:
        """An immutable copy for replies and events."""
        return OrderSnapshot(
            symbol=self.request.symbol,
            strategy=self.strategy,
            client_order_id=self.client_order_id,
            venue_order_id=self.venue_order_id,
            side=self.request.side,
            order_type=self.request.order_type,
            status=self.status,
            quantity=self.request.quantity,
            price=self.request.price,
            executed_qty=self.executed_qty,
            avg_price=self.avg_price,
            cum_quote=self.cum_quote,
            error=self.error,
            update_time=self.update_time,
        )

    def step(self, event: FsmEvent) -> bool:
        """Apply a state-machine event; return whether the status changed."""
        new = order_fsm.apply(self.status, event, has_fills=self.executed_qty > 0)
        changed = new is not self.status
        self.status = new
        if new is not OrderStatus.PENDING_NEW and new is not OrderStatus.UNKNOWN:
            self.settled.set()
        return changed

    def apply_report(self, report: VenueOrder | AlgoOrder) -> list[OrderEvent]:
        """Fold an exchange report in; return the events it produced.

        Quantities only grow (a stale snapshot never undoes a fill), and the
        status moves only along the state table (terminal statuses absorb).
        """
        events: list[OrderEvent] = []
        amended = False
        if isinstance(report, VenueOrder):
            self.venue_order_id = report.order_id
            fresh = report.update_time >= self.update_time
            self.update_time = max(self.update_time, report.update_time)
            cum_quote = report.cum_quote
            amended = fresh and self._amend(report)
        else:
            self.venue_order_id = VenueOrderId(report.algo_id)
            cum_quote = report.avg_price * report.executed_qty
        fill: tuple[Decimal, Decimal] | None = None
        if report.executed_qty > self.executed_qty:
            last_qty = report.executed_qty - self.executed_qty
            if cum_quote > self.cum_quote:
                last_price = (cum_quote - self.cum_quote) / last_qty
            else:
                last_price = report.avg_price
            self.executed_qty = report.executed_qty
            self.cum_quote = max(self.cum_quote, cum_quote)
            self.avg_price = (
                report.avg_price
                if report.avg_price > 0
                else (self.cum_quote / self.executed_qty if self.executed_qty else _ZERO)
            )
            fill = (last_qty, last_price)
        before = self.status
        self.step(STATUS_EVENTS[report.status])
        if amended:
            events.append(OrderAmended(order=self.snapshot()))
        if fill is not None:
            events.append(OrderFilled(order=self.snapshot(), last_qty=fill[0], last_price=fill[1]))
        if self.status is not before:
            events.extend(self.status_events())
        return events

    def apply_stream(self, order: StreamOrder) -> list[OrderEvent]:
        """Fold an ``ORDER_TRADE_UPDATE`` in, exactly like a REST report.

        Fills are counted by cumulative quantity (``z``), so a duplicate,
        late or reordered event changes nothing it should not (rows 37, 38);
        the trade id is remembered so a fill recovered later by ``userTrades``
        is not counted again.
        """
        if order.trade_id and order.last_filled_qty > 0:
            self._note_trade(order.trade_id, order.last_filled_qty, order.commission)
        return self.apply_report(
            VenueOrder(
                symbol=order.symbol,
                order_id=order.order_id,
                client_order_id=order.client_order_id,
                status=order.status,
                side=order.side,
                order_type=order.order_type,
                time_in_force=order.time_in_force,
                price=order.price,
                orig_qty=order.orig_qty,
                executed_qty=order.cumulative_filled_qty,
                avg_price=order.avg_price,
                cum_quote=order.cum_quote,
                reduce_only=order.reduce_only,
                position_side=order.position_side,
                update_time=order.trade_time,
            )
        )

    def apply_trade(self, trade: AccountTrade) -> list[OrderEvent]:
        """Fold in one of the order's trades (``userTrades``, after a stream gap).

        A trade id already seen is ignored. Trades are facts: when the ones
        seen add up to more than the executed quantity known, the difference is
        a fill the stream lost (row 39), applied once.
        """
        if trade.trade_id in self.trades or trade.qty <= 0:
            return []
        self._note_trade(trade.trade_id, trade.qty, trade.commission)
        total = sum(self.trades.values(), _ZERO)
        if total <= self.executed_qty:
            return []
        last_qty = total - self.executed_qty
        self.executed_qty = total
        self.cum_quote += last_qty * trade.price
        self.avg_price = self.cum_quote / self.executed_qty
        before = self.status
        quantity = self.request.quantity
        full = quantity is not None and self.executed_qty >= quantity
        self.step(FsmEvent.FILL if full else FsmEvent.PARTIAL_FILL)
        events: list[OrderEvent] = [
            OrderFilled(order=self.snapshot(), last_qty=last_qty, last_price=trade.price)
        ]
        if self.status is not before:
            events.extend(self.status_events())
        return events

    def _note_trade(self, trade_id: int, qty: Decimal, commission: Decimal | None) -> None:
        if trade_id not in self.trades:
            self.trades[trade_id] = qty
            if commission is not None:
                self.commission += commission

    def _amend(self, report: VenueOrder) -> bool:
        """Adopt a modification the exchange applied (a newer LIMIT report, new terms)."""
        request = self.request
        if request.order_type is not OrderType.LIMIT or report.order_type is not OrderType.LIMIT:
            return False  # only LIMIT orders can be modified
        if report.orig_qty <= 0 or report.price <= 0:
            return False
        if report.orig_qty == request.quantity and report.price == request.price:
            return False
        self.request = attrs.evolve(request, quantity=report.orig_qty, price=report.price)
        return True

    def status_events(self) -> list[OrderEvent]:
        snap = self.snapshot()
        match self.status:
            case OrderStatus.NEW:
                return [OrderAccepted(order=snap)]
            case OrderStatus.CANCELED:
                return [OrderCanceled(order=snap)]
            case OrderStatus.EXPIRED | OrderStatus.EXPIRED_IN_MATCH:
                return [OrderExpired(order=snap)]
            case OrderStatus.REJECTED:
                return [OrderRejected(order=snap)]
            case _:
                return []
