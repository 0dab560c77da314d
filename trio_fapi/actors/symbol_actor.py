"""The per-symbol order actor: owns every order of its symbol.

It assigns client order ids, drives the order state machine, answers each
request exactly once, publishes events, and keeps working when a requester is
cancelled: the actor and its jobs live in the executor's nursery, outside any
strategy's cancel scope (faults.md row 45).

A placement whose outcome is UNKNOWN is never resent. The actor resolves it by
evidence: it queries the order by client id (REST is the evidence source; open
orders are also reconciled by a polling loop) until the exchange shows it, or
until the request's own window (sent time + recvWindow + a query-lag budget) has
passed with "no such order" answers, which proves absence. If neither happens
within the resolution bound the order is escalated to UNRESOLVED, loudly, and
stays tracked.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping

import attrs
import trio

from trio_fapi.protocol.algo import AlgoOrder
from trio_fapi.protocol.endpoints import endpoint
from trio_fapi.protocol.enums import OrderStatus
from trio_fapi.protocol.errors import (
    EngineError,
    ExchangeError,
    InvalidClientOrderId,
    NotFound,
    OutcomeUnknown,
    Overloaded,
)
from trio_fapi.protocol.filters import SymbolRules
from trio_fapi.protocol.ids import ClientOrderId, Symbol
from trio_fapi.protocol.messages import (
    CancelAllDone,
    CancelAllOrders,
    CancelOrder,
    CancelRejected,
    Lane,
    OrderCommand,
    OrderEvent,
    OrderFailed,
    OrderReply,
    OrderSubmitted,
    OrderSucceeded,
    OrderUnknown,
    PlaceOrder,
    QueryOrder,
    RestFailed,
    RestOutcome,
    RestSucceeded,
)
from trio_fapi.protocol.order_fsm import OrderEvent as FsmEvent
from trio_fapi.protocol.wire import MalformedResponse, Outcome, VenueOrder

from .order_record import OrderRecord
from .requester import Requester
from .retry import RetryPolicy

__all__ = ["ORDER_INBOX_SIZE", "OrderActorConfig", "SymbolOrderActor", "SymbolStatistics"]

log = logging.getLogger("trio_fapi.orders")

#: Buffer of each symbol actor's inbox; strategies block beyond it.
ORDER_INBOX_SIZE = 64
_NO_SUCH_ORDER = -2013
_UNKNOWN_ORDER_SENT = -2011
_DUPLICATE_ID = -4116
_OPEN = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL)


@attrs.frozen(kw_only=True)
class OrderActorConfig:
    """Knobs of a symbol actor."""

    session: str
    recv_window_ms: int = 5000
    request_timeout_s: float = 10.0
    max_in_flight: int = 256
    poll_interval_s: float = 1.0
    query_lag_s: float = 3.0
    unknown_resolution_s: float = 30.0
    #: Placements are retried only while provably unsent or refused transiently.
    placement_retry: RetryPolicy = attrs.field(factory=lambda: RetryPolicy(attempts=3))


@attrs.frozen(kw_only=True)
class SymbolStatistics:
    """Counts of one symbol actor."""

    symbol: str
    orders: int
    open_orders: int
    in_flight: int
    by_status: dict[str, int]


class SymbolOrderActor:
    """Owns the orders of one symbol; everything else sends it messages."""

    def __init__(
        self,
        *,
        symbol: Symbol,
        rules: SymbolRules,
        requester: Requester,
        publish: Callable[[OrderEvent], None],
        config: OrderActorConfig,
        on_live: Callable[[Symbol, bool], None] | None = None,
    ) -> None:
        self.symbol = symbol
        self._rules = rules
        self._requester = requester
        self._publish = publish
        self._config = config
        self._send, self._inbox = trio.open_memory_channel[OrderCommand](ORDER_INBOX_SIZE)
        self._orders: dict[ClientOrderId, OrderRecord] = {}
        self._seq: dict[str, int] = defaultdict(int)
        self._in_flight = 0
        self._on_live = on_live
        #: Orders that may be on the book (not terminal); feeds the dead-man switch.
        self._maybe_live: set[ClientOrderId] = set()
        self._live = False

    def sender(self) -> trio.MemorySendChannel[OrderCommand]:
        """The actor's inbox (one handle; the executor owns it)."""
        return self._send

    def order(self, client_order_id: ClientOrderId) -> OrderRecord | None:
        """The record for an id (read-only use by the owning executor)."""
        return self._orders.get(client_order_id)

    def orders(self) -> list[OrderRecord]:
        """All records, oldest first."""
        return list(self._orders.values())

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve commands until the inbox closes, then finish in-flight jobs."""
        async with trio.open_nursery() as nursery:
            poller = trio.CancelScope()
            nursery.start_soon(self._poll_loop, poller)
            task_status.started()
            async with self._inbox:
                async for cmd in self._inbox:
                    self._dispatch(cmd, nursery)
            poller.cancel()
        await self._requester.aclose()

    # -- dispatch ---------------------------------------------------------------------

    def _dispatch(self, cmd: OrderCommand, nursery: trio.Nursery) -> None:
        match cmd:
            case PlaceOrder():
                self._on_place(cmd, nursery)
            case CancelOrder():
                self._on_cancel(cmd, nursery)
            case QueryOrder():
                self._on_query(cmd, nursery)
            case CancelAllOrders():
                nursery.start_soon(self._cancel_all_job, cmd)

    def _next_id(self, strategy: str) -> ClientOrderId:
        while True:
            self._seq[strategy] += 1
            cid = ClientOrderId.derive(
                session=self._config.session,
                strategy=strategy,
                symbol=self.symbol,
                seq=self._seq[strategy],
            )
            if cid not in self._orders:
                return cid

    def _on_place(self, cmd: PlaceOrder, nursery: trio.Nursery) -> None:
        if self._in_flight >= self._config.max_in_flight:
            cmd.reply_to.send(OrderFailed(error=Overloaded(queue=f"{self.symbol} order actor")))
            return
        cid = cmd.request.client_order_id
        if cid is not None and cid in self._orders:
            existing = self._orders[cid]
            if not existing.status.is_terminal:
                cmd.reply_to.send(
                    OrderFailed(
                        error=InvalidClientOrderId(
                            value=cid.value, reason="already in use by an order that is not done"
                        ),
                        order=existing.snapshot(),
                    )
                )
                return
        if cid is None:
            cid = self._next_id(cmd.strategy)
        record = OrderRecord(
            strategy=cmd.strategy,
            request=cmd.request.with_client_order_id(cid),
            client_order_id=cid,
        )
        self._orders[cid] = record
        if self._on_live is not None:
            self._maybe_live.add(cid)
            self._sync_live()
        self._publish(OrderSubmitted(order=record.snapshot()))
        self._in_flight += 1
        record.busy += 1
        nursery.start_soon(self._place_job, record, cmd)

    def _find(self, strategy: str, cid: ClientOrderId) -> OrderRecord | None:
        record = self._orders.get(cid)
        if record is None or record.strategy != strategy:
            return None  # never act on another strategy's order
        return record

    def _on_cancel(self, cmd: CancelOrder, nursery: trio.Nursery) -> None:
        record = self._find(cmd.strategy, cmd.client_order_id)
        if record is None:
            cmd.reply_to.send(OrderFailed(error=NotFound(what=f"order {cmd.client_order_id}")))
            return
        self._in_flight += 1
        record.busy += 1
        nursery.start_soon(self._cancel_job, record, cmd)

    def _on_query(self, cmd: QueryOrder, nursery: trio.Nursery) -> None:
        record = self._find(cmd.strategy, cmd.client_order_id)
        if record is None:
            cmd.reply_to.send(OrderFailed(error=NotFound(what=f"order {cmd.client_order_id}")))
            return
        nursery.start_soon(self._query_job, record, cmd)

    # -- helpers ----------------------------------------------------------------------

    def _emit(self, events: list[OrderEvent]) -> None:
        for event in events:
            self._publish(event)
        self._sync_live()

    def _sync_live(self) -> None:
        """Tell the dead-man switch when the symbol gains or loses its last live order."""
        if self._on_live is None:
            return
        self._maybe_live = {
            cid for cid in self._maybe_live if not self._orders[cid].status.is_terminal
        }
        live = bool(self._maybe_live)
        if live != self._live:
            self._live = live
            self._on_live(self.symbol, live)

    def _reply(self, cmd: PlaceOrder | CancelOrder | QueryOrder, record: OrderRecord) -> None:
        snap = record.snapshot()
        reply: OrderReply
        if record.status is OrderStatus.REJECTED:
            reply = OrderFailed(error=_error_of(record), order=snap)
        elif record.status in (OrderStatus.UNKNOWN, OrderStatus.UNRESOLVED):
            reply = OrderFailed(
                error=OutcomeUnknown(
                    client_order_id=record.client_order_id.value, cause=record.error or "no answer"
                ),
                order=snap,
            )
        else:
            reply = OrderSucceeded(order=snap)
        cmd.reply_to.send(reply)

    def _apply(self, record: OrderRecord, payload: object) -> bool:
        """Apply a report body; return False when it does not parse or match."""
        try:
            report: VenueOrder | AlgoOrder
            if record.is_algo:
                report = AlgoOrder.from_wire(payload)
                if report.client_algo_id != record.client_order_id.value:
                    return False
            else:
                report = VenueOrder.from_wire(payload)
                if not report.matches(record.client_order_id):
                    return False
        except (MalformedResponse, EngineError, ValueError):
            return False
        self._emit(record.apply_report(report))
        return True

    def _id_params(self, record: OrderRecord) -> dict[str, str]:
        if record.is_algo:
            return {"clientAlgoId": record.client_order_id.value}
        return {"symbol": self.symbol.value, "origClientOrderId": record.client_order_id.value}

    async def _fetch(self, record: OrderRecord, *, lane: Lane = Lane.ORDER) -> RestOutcome:
        name = "query_algo_order" if record.is_algo else "query_order"
        return await self._requester.request(
            endpoint(name),
            self._id_params(record),
            strategy=record.strategy,
            lane=lane,
            deadline=trio.current_time() + self._config.request_timeout_s * 2,
        )

    # -- jobs --------------------------------------------------------------------------

    async def _place_job(self, record: OrderRecord, cmd: PlaceOrder) -> None:
        try:
            request = record.request
            name = "new_algo_order" if request.is_algo else "new_order"
            outcome = await self._requester.request(
                endpoint(name),
                request.to_params(),
                strategy=record.strategy,
                lane=Lane.PRIORITY if request.is_risk_reducing else Lane.ORDER,
                deadline=cmd.deadline,
                retry=self._config.placement_retry,
                idempotent=False,
            )
            # The last attempt was signed no later than now, so the exchange can act on
            # it no later than now + recvWindow: a conservative base for proving absence.
            record.sent_at = trio.current_time()
            await self._settle_placement(record, outcome)
            self._reply(cmd, record)
        except BaseException:
            self._answer_interrupted(cmd, record)
            raise
        finally:
            record.settled.set()
            record.busy -= 1
            self._in_flight -= 1
            self._sync_live()

    async def _settle_placement(self, record: OrderRecord, outcome: RestOutcome) -> None:
        if isinstance(outcome, RestSucceeded):
            if self._apply(record, outcome.payload):
                return
            outcome = RestFailed(
                request_id=outcome.request_id,
                outcome=Outcome.UNKNOWN,
                error=OutcomeUnknown(
                    client_order_id=record.client_order_id.value,
                    cause="success body did not parse or named another order",
                ),
                elapsed_s=outcome.elapsed_s,
            )
        error = outcome.error
        record.error = str(error)
        record.failure = error
        if outcome.outcome is Outcome.UNKNOWN:
            await self._resolve_unknown(record)
            return
        if isinstance(error, ExchangeError) and error.code == _DUPLICATE_ID:
            # An order with this id is open on the exchange: adopt it, never fail it.
            await self._resolve_unknown(record)
            return
        record.step(FsmEvent.REJECT)
        self._emit(record.status_events())

    async def _resolve_unknown(self, record: OrderRecord) -> None:
        """Find out by evidence whether an ambiguous placement landed."""
        if record.status is OrderStatus.PENDING_NEW:
            record.step(FsmEvent.OUTCOME_UNKNOWN)
            self._publish(OrderUnknown(order=record.snapshot(), cause=record.error or "unknown"))
            log.warning("order %s outcome unknown: %s", record.client_order_id, record.error)
        start = trio.current_time()
        absent_after = (
            record.sent_at + self._config.recv_window_ms / 1000 + self._config.query_lag_s
        )
        delay = 0.25
        while True:
            outcome = await self._fetch(record)
            if isinstance(outcome, RestSucceeded) and self._apply(record, outcome.payload):
                return
            if (
                isinstance(outcome, RestFailed)
                and isinstance(outcome.error, ExchangeError)
                and outcome.error.code == _NO_SUCH_ORDER
                and trio.current_time() >= absent_after
            ):
                record.error = "not placed: the exchange has no such order after its deadline"
                record.step(FsmEvent.ABSENCE_PROVEN)
                self._emit(record.status_events())
                return
            if trio.current_time() - start >= self._config.unknown_resolution_s:
                if record.status is not OrderStatus.UNRESOLVED:
                    record.step(FsmEvent.ESCALATE)
                    log.error(
                        "order %s UNRESOLVED after %.1fs; still tracked",
                        record.client_order_id,
                        trio.current_time() - start,
                    )
                    self._publish(
                        OrderUnknown(order=record.snapshot(), cause="unresolved; still tracked")
                    )
                return
            await trio.sleep(delay)
            delay = min(delay * 2, 4.0)

    async def _cancel_job(self, record: OrderRecord, cmd: CancelOrder) -> None:
        try:
            await record.settled.wait()
            if record.status.is_terminal or record.status in (
                OrderStatus.UNKNOWN,
                OrderStatus.UNRESOLVED,
            ):
                if record.status.is_terminal:
                    self._publish(
                        CancelRejected(order=record.snapshot(), reason=f"already {record.status}")
                    )
                self._reply(cmd, record)
                return
            record.step(FsmEvent.CANCEL_REQUEST)
            name = "cancel_algo_order" if record.is_algo else "cancel_order"
            outcome = await self._requester.request(
                endpoint(name),
                self._id_params(record),
                strategy=record.strategy,
                lane=Lane.PRIORITY,
                deadline=cmd.deadline,
                idempotent=True,  # a second cancel is harmless: -2011 is read via a query
            )
            if (
                isinstance(outcome, RestSucceeded)
                and not record.is_algo
                and self._apply(record, outcome.payload)
            ):
                self._reply(cmd, record)
                return
            # -2011 (filled a moment earlier?), algo cancel acks, unknown outcomes:
            # ask the exchange what the order is now.
            fetched = await self._fetch(record, lane=Lane.PRIORITY)
            applied = isinstance(fetched, RestSucceeded) and self._apply(record, fetched.payload)
            refused = (
                isinstance(outcome, RestFailed)
                and outcome.outcome is Outcome.REJECTED
                and not _is_code(outcome, _UNKNOWN_ORDER_SENT)
            )
            if record.status is OrderStatus.PENDING_CANCEL and (applied or refused):
                # The exchange shows the order still open, or refused the cancel.
                record.step(FsmEvent.CANCEL_REJECT)
                reason = str(outcome.error) if isinstance(outcome, RestFailed) else "still open"
                self._publish(CancelRejected(order=record.snapshot(), reason=reason))
            self._reply(cmd, record)
        except BaseException:
            self._answer_interrupted(cmd, record)
            raise
        finally:
            record.busy -= 1
            self._in_flight -= 1

    async def _query_job(self, record: OrderRecord, cmd: QueryOrder) -> None:
        try:
            outcome = await self._fetch(record, lane=Lane.QUERY)
            if isinstance(outcome, RestSucceeded):
                self._apply(record, outcome.payload)
            self._reply(cmd, record)
        except BaseException:
            self._answer_interrupted(cmd, record)
            raise

    @staticmethod
    def _answer_interrupted(
        cmd: PlaceOrder | CancelOrder | QueryOrder, record: OrderRecord
    ) -> None:
        """Answer a job cut short (shutdown past ``drain_s``): I2, one answer each.

        If the job had already answered, its reply slot ignores this one.
        """
        cmd.reply_to.send(
            OrderFailed(
                error=OutcomeUnknown(
                    client_order_id=record.client_order_id.value,
                    cause="the engine stopped before this request finished",
                ),
                order=record.snapshot(),
            )
        )

    async def _cancel_all_job(self, cmd: CancelAllOrders) -> None:
        mine = [r for r in self._orders.values() if r.status in _OPEN and not r.is_algo]
        others = [r for r in mine if r.strategy != cmd.strategy]
        if not others:
            # allOpenOrders would also cancel orders this engine did not place
            # (another process, a person): use it only if the exchange agrees that
            # every open order on the symbol is the caller's.
            listed = await self._requester.request(
                endpoint("open_orders"),
                {"symbol": self.symbol.value},
                strategy=cmd.strategy,
                lane=Lane.PRIORITY,
                deadline=cmd.deadline,
            )
            ours = {r.client_order_id.value for r in mine}
            if not isinstance(listed, RestSucceeded) or not isinstance(listed.payload, list):
                others = mine  # cannot tell: fall back to one cancel per order
            elif any(
                isinstance(item, Mapping) and item.get("clientOrderId") not in ours
                for item in listed.payload
            ):
                others = mine
        if others:
            # Other strategies have open orders here: cancel only the caller's.
            async with trio.open_nursery() as nursery:
                for record in mine:
                    if record.strategy == cmd.strategy and record.status in _OPEN:
                        slot = _Discard()
                        record.busy += 1
                        self._in_flight += 1
                        nursery.start_soon(
                            self._cancel_job,
                            record,
                            CancelOrder(
                                strategy=cmd.strategy,
                                client_order_id=record.client_order_id,
                                deadline=cmd.deadline,
                                reply_to=slot,
                            ),
                        )
        else:
            for record in mine:
                record.step(FsmEvent.CANCEL_REQUEST)
            outcome = await self._requester.request(
                endpoint("cancel_all_orders"),
                {"symbol": self.symbol.value},
                strategy=cmd.strategy,
                lane=Lane.PRIORITY,
                deadline=cmd.deadline,
                idempotent=True,
            )
            await self._reconcile()
            if isinstance(outcome, RestFailed):
                cmd.reply_to.send(OrderFailed(error=outcome.error))
                return
        cmd.reply_to.send(
            CancelAllDone(orders=tuple(r.snapshot() for r in mine if r.strategy == cmd.strategy))
        )

    # -- polling fallback ----------------------------------------------------------------

    async def _poll_loop(self, scope: trio.CancelScope) -> None:
        with scope:
            while True:
                await trio.sleep(self._config.poll_interval_s)
                await self._reconcile(skip_busy=True)
                self._sync_live()

    async def _reconcile(self, *, skip_busy: bool = False) -> None:
        """Bring local open orders in line with the exchange's view."""
        tracked = [
            r
            for r in self._orders.values()
            if (r.status in _OPEN or r.status is OrderStatus.UNRESOLVED)
            and not r.is_algo
            and not (skip_busy and r.busy)
        ]
        if not tracked:
            return
        outcome = await self._requester.request(
            endpoint("open_orders"),
            {"symbol": self.symbol.value},
            strategy="_engine",
            lane=Lane.QUERY,
            deadline=trio.current_time() + self._config.request_timeout_s,
        )
        if not isinstance(outcome, RestSucceeded) or not isinstance(outcome.payload, list):
            return
        seen: dict[str, object] = {}
        for item in outcome.payload:
            if isinstance(item, Mapping):
                cid = item.get("clientOrderId")
                if isinstance(cid, str):
                    seen[cid] = item
        for record in tracked:
            payload = seen.get(record.client_order_id.value)
            if payload is not None:
                self._apply(record, payload)
            elif not (skip_busy and record.busy):
                fetched = await self._fetch(record, lane=Lane.QUERY)
                if isinstance(fetched, RestSucceeded):
                    self._apply(record, fetched.payload)

    def statistics(self) -> SymbolStatistics:
        """Order counts by status."""
        by_status: dict[str, int] = defaultdict(int)
        for record in self._orders.values():
            by_status[record.status.value] += 1
        return SymbolStatistics(
            symbol=self.symbol.value,
            orders=len(self._orders),
            open_orders=sum(1 for r in self._orders.values() if r.status in _OPEN),
            in_flight=self._in_flight,
            by_status=dict(by_status),
        )


class _Discard:
    """A reply target for internal sub-requests whose answer nobody awaits."""

    def send(self, value: object, /) -> None:
        """Drop the answer."""


def _is_code(outcome: RestFailed, code: int) -> bool:
    return isinstance(outcome.error, ExchangeError) and outcome.error.code == code


def _error_of(record: OrderRecord) -> EngineError:
    if record.failure is not None:
        return record.failure
    return NotFound(what=f"order {record.client_order_id}: {record.error or 'not placed'}")
