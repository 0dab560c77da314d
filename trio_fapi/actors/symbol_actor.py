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

With an intent journal, every placement and modification is on disk before it
is sent, and its outcome is noted as it becomes known. If the actor crashes,
the executor starts a :meth:`SymbolOrderActor.successor` that takes over the
records and the inbox and reconciles every order that was not settled.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
import trio

from trio_fapi.protocol.algo import AlgoOrder
from trio_fapi.protocol.batches import (
    MAX_BATCH_CANCEL,
    MAX_BATCH_PLACE,
    batch_cancel_params,
    batch_items,
    batch_place_params,
    chunks,
)
from trio_fapi.protocol.endpoints import endpoint
from trio_fapi.protocol.enums import OrderStatus
from trio_fapi.protocol.errors import (
    EngineClosed,
    EngineError,
    ExchangeError,
    InvalidClientOrderId,
    InvalidCombination,
    NotFound,
    OutcomeUnknown,
    Overloaded,
)
from trio_fapi.protocol.ids import ClientOrderId, Symbol
from trio_fapi.protocol.journal_records import IntentKind, IntentState, JournalError
from trio_fapi.protocol.messages import (
    BatchDone,
    CancelAllDone,
    CancelAllOrders,
    CancelBatch,
    CancelOrder,
    CancelRejected,
    Lane,
    ModifyOrder,
    OrderCommand,
    OrderEvent,
    OrderFailed,
    OrderFilled,
    OrderReply,
    OrderSubmitted,
    OrderSucceeded,
    OrderUnknown,
    PlaceBatch,
    PlaceOrder,
    QueryOrder,
    RestFailed,
    RestOutcome,
    RestSucceeded,
)
from trio_fapi.protocol.numbers import fmt
from trio_fapi.protocol.order_fsm import OrderEvent as FsmEvent
from trio_fapi.protocol.orders import OrderRequest
from trio_fapi.protocol.trades import AccountTrade
from trio_fapi.protocol.user_events import AlgoUpdate, OrderTradeUpdate
from trio_fapi.protocol.wire import MalformedResponse, Outcome, VenueOrder, classify

from .journal import Journal
from .order_ids import IdAllocator
from .order_record import OrderRecord
from .reply import OneShot
from .requester import Requester
from .retry import RetryPolicy

__all__ = [
    "ORDER_INBOX_SIZE",
    "STREAM_INBOX_SIZE",
    "OrderActorConfig",
    "Resync",
    "SymbolOrderActor",
    "SymbolStatistics",
]

log = logging.getLogger("trio_fapi.orders")

#: Buffer of each symbol actor's inbox; strategies block beyond it.
ORDER_INBOX_SIZE = 64
_NO_SUCH_ORDER = -2013
_UNKNOWN_ORDER_SENT = -2011
_DUPLICATE_ID = -4116
_OPEN = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL)
_UNSETTLED = (OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN, OrderStatus.UNRESOLVED)
_MODIFIABLE = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)

#: Stream events waiting for the actor; the stream reader blocks beyond it.
STREAM_INBOX_SIZE = 1024
#: How far before the last applied trade ``userTrades`` is read again after a gap.
TRADE_OVERLAP_MS = 60_000
#: ``userTrades`` page size (Binance's maximum), and the most pages read per resync.
_TRADE_PAGE = 1000
_MAX_TRADE_PAGES = 10


@attrs.frozen(kw_only=True)
class Resync:
    """Reconcile every order by REST (after a stream gap); reply with the fills found."""

    reply_to: OneShot[int] = attrs.field(eq=False, repr=False)


StreamItem = OrderTradeUpdate | AlgoUpdate | Resync
_Inbox = tuple[trio.MemorySendChannel[OrderCommand], trio.MemoryReceiveChannel[OrderCommand]]
_StreamInbox = tuple[trio.MemorySendChannel[StreamItem], trio.MemoryReceiveChannel[StreamItem]]


@attrs.frozen(kw_only=True)
class OrderActorConfig:
    """Knobs of a symbol actor."""

    session: str
    recv_window_ms: int = 5000
    request_timeout_s: float = 10.0
    max_in_flight: int = 256
    poll_interval_s: float = 1.0
    #: Polling while the user-data stream is up and reconciled (a safety net).
    stream_poll_interval_s: float = 30.0
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
    restarts: int = 0
    stream_events: int = 0
    external_events: int = 0


class SymbolOrderActor:
    """Owns the orders of one symbol; everything else sends it messages."""

    def __init__(
        self,
        *,
        symbol: Symbol,
        requester: Requester,
        publish: Callable[[OrderEvent], None],
        config: OrderActorConfig,
        ids: IdAllocator | None = None,
        journal: Journal | None = None,
        on_live: Callable[[Symbol, bool], None] | None = None,
        inbox: _Inbox | None = None,
        stream_inbox: _StreamInbox | None = None,
    ) -> None:
        self.symbol = symbol
        self._requester = requester
        self._publish = publish
        self._config = config
        self._ids = ids or IdAllocator(session=config.session, symbol=symbol, journal=None)
        self._journal = journal
        self._send, self._inbox = inbox or trio.open_memory_channel[OrderCommand](ORDER_INBOX_SIZE)
        self._stream_send, self._stream_inbox = stream_inbox or trio.open_memory_channel[
            StreamItem
        ](STREAM_INBOX_SIZE)
        self._stream_up = False
        self._poll_nap = trio.CancelScope()
        self._last_trade_ms = 0
        self._stream_events = 0
        self._external_events = 0
        self._orders: dict[ClientOrderId, OrderRecord] = {}
        self._in_flight = 0
        self._on_live = on_live
        #: Orders that may be on the book (not terminal); feeds the dead-man switch.
        self._maybe_live: set[ClientOrderId] = set()
        self._live = False
        #: Records to reconcile when the actor starts (inherited or journaled).
        self._recover: list[OrderRecord] = []
        self._nursery: trio.Nursery | None = None
        self.restarts = 0

    def successor(self, requester: Requester) -> SymbolOrderActor:
        """A fresh actor that takes over this crashed one's orders and inbox.

        Jobs of the crashed actor were cancelled and answered UNKNOWN; the
        successor starts one reconciliation job per order that was not
        terminal, alongside serving the inbox (a command about such an order
        waits for it to settle, as for any unsettled order).
        """
        new = SymbolOrderActor(
            symbol=self.symbol,
            requester=requester,
            publish=self._publish,
            config=self._config,
            ids=self._ids,
            journal=self._journal,
            on_live=self._on_live,
            inbox=(self._send, self._inbox),
            stream_inbox=(self._stream_send, self._stream_inbox),
        )
        new._stream_up = self._stream_up
        new._last_trade_ms = self._last_trade_ms
        new._orders = self._orders
        new._maybe_live = self._maybe_live
        new._live = self._live
        new.restarts = self.restarts + 1
        for record in self._orders.values():
            record.busy = 0
            if not record.status.is_terminal:
                new._recover.append(record)
        return new

    def adopt(self, record: OrderRecord) -> None:
        """Take over an order known from the journal; it is reconciled at start."""
        self._orders[record.client_order_id] = record
        self._recover.append(record)
        if self._on_live is not None:
            self._maybe_live.add(record.client_order_id)

    def sender(self) -> trio.MemorySendChannel[OrderCommand]:
        """The actor's inbox (one handle; the executor owns it)."""
        return self._send

    @property
    def stream_up(self) -> bool:
        """Whether the user-data stream is up and reconciled (polling is then slow)."""
        return self._stream_up

    @stream_up.setter
    def stream_up(self, up: bool) -> None:
        if up != self._stream_up:
            self._stream_up = up
            self._poll_nap.cancel()  # the pause in progress was chosen for the old state

    def stream_sender(self) -> trio.MemorySendChannel[StreamItem]:
        """Where the stream actor delivers this symbol's order events."""
        return self._stream_send

    def order(self, client_order_id: ClientOrderId) -> OrderRecord | None:
        """The record for an id (read-only use by the owning executor)."""
        return self._orders.get(client_order_id)

    def orders(self) -> list[OrderRecord]:
        """All records, oldest first."""
        return list(self._orders.values())

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve commands until the inbox closes, then finish in-flight jobs.

        The inbox is not closed when a job crashes: a successor serves it.
        """
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                poller, streamer = trio.CancelScope(), trio.CancelScope()
                nursery.start_soon(self._poll_loop, poller)
                nursery.start_soon(self._stream_loop, streamer)
                recover, self._recover = self._recover, []
                for record in recover:
                    record.busy += 1
                    nursery.start_soon(self._recover_job, record)
                task_status.started()
                async for cmd in self._inbox:
                    self._dispatch(cmd, nursery)
                self._inbox.close()
                poller.cancel()
                streamer.cancel()
        finally:
            self._nursery = None
            await self._requester.aclose()

    # -- dispatch ---------------------------------------------------------------------

    def _dispatch(self, cmd: OrderCommand, nursery: trio.Nursery) -> None:
        match cmd:
            case PlaceOrder():
                self._on_place(cmd, nursery)
            case CancelOrder():
                self._on_by_id(cmd, nursery, self._cancel_job)
            case QueryOrder():
                self._on_by_id(cmd, nursery, self._query_job, counts=False)
            case ModifyOrder():
                self._on_by_id(cmd, nursery, self._modify_job)
            case CancelAllOrders():
                nursery.start_soon(self._cancel_all_job, cmd)
            case PlaceBatch():
                self._on_place_batch(cmd, nursery)
            case CancelBatch():
                self._in_flight += 1
                nursery.start_soon(self._cancel_batch_job, cmd)

    def _refuse_reuse(self, request: OrderRequest) -> OrderFailed | None:
        """Refuse a caller's own id while an unfinished order holds it."""
        cid = request.client_order_id
        existing = self._orders.get(cid) if cid is not None else None
        if cid is None or existing is None or existing.status.is_terminal:
            return None
        return OrderFailed(
            error=InvalidClientOrderId(
                value=cid.value, reason="already in use by an order that is not done"
            ),
            order=existing.snapshot(),
        )

    def _on_place(self, cmd: PlaceOrder, nursery: trio.Nursery) -> None:
        if self._in_flight >= self._config.max_in_flight:
            cmd.reply_to.send(OrderFailed(error=Overloaded(queue=f"{self.symbol} order actor")))
            return
        refusal = self._refuse_reuse(cmd.request)
        if refusal is not None:
            cmd.reply_to.send(refusal)
            return
        self._in_flight += 1
        # A caller's own id is registered now, so the next command can find it.
        nursery.start_soon(self._place_job, cmd, self._record_for_own_id(cmd.strategy, cmd.request))

    def _on_place_batch(self, cmd: PlaceBatch, nursery: trio.Nursery) -> None:
        if self._in_flight + len(cmd.requests) > self._config.max_in_flight:
            error = OrderFailed(error=Overloaded(queue=f"{self.symbol} order actor"))
            cmd.reply_to.send(BatchDone(results=tuple(error for _ in cmd.requests)))
            return
        self._in_flight += len(cmd.requests)
        slots: list[OrderRecord | OrderReply | None] = []
        for request in cmd.requests:
            refusal = self._refuse_reuse(request)
            slots.append(refusal or self._record_for_own_id(cmd.strategy, request))
        nursery.start_soon(self._place_batch_job, cmd, slots)

    def _find(self, strategy: str, cid: ClientOrderId) -> OrderRecord | None:
        record = self._orders.get(cid)
        if record is None or record.strategy != strategy:
            return None  # never act on another strategy's order
        return record

    def _on_by_id(
        self,
        cmd: CancelOrder | QueryOrder | ModifyOrder,
        nursery: trio.Nursery,
        job: Callable[[OrderRecord, Any], Awaitable[None]],
        *,
        counts: bool = True,
    ) -> None:
        record = self._find(cmd.strategy, cmd.client_order_id)
        if record is None:
            cmd.reply_to.send(OrderFailed(error=NotFound(what=f"order {cmd.client_order_id}")))
            return
        if counts:
            self._in_flight += 1
            record.busy += 1
        nursery.start_soon(job, record, cmd)

    # -- helpers ----------------------------------------------------------------------

    def _record_for_own_id(self, strategy: str, request: OrderRequest) -> OrderRecord | None:
        """The record of a request that carries the caller's own id (``None`` otherwise)."""
        cid = request.client_order_id
        return None if cid is None else self._new_record(strategy, request, cid)

    async def _register(self, strategy: str, request: OrderRequest) -> OrderRecord:
        """Give a request without an id the next derived one, and a record.

        Raises:
            EngineError: No id could be had (the journal refused a new block).
        """
        while True:
            cid, _ = await self._ids.next(strategy)
            if cid not in self._orders:
                return self._new_record(strategy, request, cid)

    def _new_record(self, strategy: str, request: OrderRequest, cid: ClientOrderId) -> OrderRecord:
        """Create and own the record; publish that the order was submitted."""
        record = OrderRecord(
            strategy=strategy, request=request.with_client_order_id(cid), client_order_id=cid
        )
        record.busy += 1
        self._orders[cid] = record
        if self._on_live is not None:
            self._maybe_live.add(cid)
            self._sync_live()
        self._publish(OrderSubmitted(order=record.snapshot()))
        return record

    def _emit(self, events: list[OrderEvent]) -> int:
        """Publish ``events``; return how many were fills."""
        for event in events:
            self._publish(event)
            if event.order.status.is_terminal:
                record = self._orders.get(event.order.client_order_id)
                if record is not None:
                    self._note(record)
        self._sync_live()
        return sum(1 for event in events if isinstance(event, OrderFilled))

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

    def _answer(self, record: OrderRecord) -> OrderReply:
        snap = record.snapshot()
        if record.status is OrderStatus.REJECTED:
            return OrderFailed(error=_error_of(record), order=snap)
        if record.status in (OrderStatus.UNKNOWN, OrderStatus.UNRESOLVED):
            return OrderFailed(
                error=OutcomeUnknown(
                    client_order_id=record.client_order_id.value, cause=record.error or "no answer"
                ),
                order=snap,
            )
        return OrderSucceeded(order=snap)

    def _reply(
        self, cmd: PlaceOrder | CancelOrder | QueryOrder | ModifyOrder, record: OrderRecord
    ) -> None:
        cmd.reply_to.send(self._answer(record))

    def _apply(self, record: OrderRecord, payload: object) -> bool:
        """Apply a report body; return False when it does not parse or match."""
        return self._apply_counting(record, payload) is not None

    def _apply_counting(self, record: OrderRecord, payload: object) -> int | None:
        """Apply a report body; the fills it revealed, or ``None`` if it was not applied."""
        try:
            report: VenueOrder | AlgoOrder
            if record.is_algo:
                report = AlgoOrder.from_wire(payload)
                if report.client_algo_id != record.client_order_id.value:
                    return None
            else:
                report = VenueOrder.from_wire(payload)
                if not report.matches(record.client_order_id) or (
                    record.venue_order_id is not None and report.order_id != record.venue_order_id
                ):
                    return None  # another order under a reused client id
        except (MalformedResponse, EngineError, ValueError):
            return None
        return self._emit(record.apply_report(report))

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

    async def _look_up(self, record: OrderRecord, *, lane: Lane, once: bool = False) -> bool:
        """Query the order until one answer applies, within the resolution bound.

        A lost query or a lagging "no such order" is not an answer about the
        order: look again, backing off, rather than settle for a stale view.
        """
        start = trio.current_time()
        delay = 0.25
        while True:
            fetched = await self._fetch(record, lane=lane)
            if isinstance(fetched, RestSucceeded) and self._apply(record, fetched.payload):
                return True
            if once or trio.current_time() - start + delay > self._config.unknown_resolution_s:
                return False
            await trio.sleep(delay)
            delay = min(delay * 2, 4.0)

    # -- the journal ------------------------------------------------------------------

    async def _journal_intent(
        self, record: OrderRecord, kind: IntentKind, params: Mapping[str, str]
    ) -> int | None:
        """Write an intent; the caller sends only after this returns."""
        if self._journal is None:
            return None
        written = await self._journal.record_intent(
            session=self._config.session,
            strategy=record.strategy,
            symbol=self.symbol,
            kind=kind,
            client_order_id=record.client_order_id,
            params=params,
        )
        return written.intent_id

    def _note(self, record: OrderRecord) -> None:
        """Record in the journal, in the background, where an order's placement stands.

        When the order is done, MODIFY intents left unknown are settled with it.
        """
        intent_id = record.intent_id
        if self._journal is None or intent_id is None or self._nursery is None:
            return
        if record.status.is_terminal:
            if record.journaled_terminal:
                return
            record.journaled_terminal = True
            state = IntentState.TERMINAL
            modifies, record.open_modifies = record.open_modifies, []
            for modify in modifies:
                self._nursery.start_soon(self._write_note, modify, state, record)
        elif record.status in (OrderStatus.UNKNOWN, OrderStatus.UNRESOLVED):
            state = IntentState.UNKNOWN
        elif record.status is OrderStatus.PENDING_NEW:
            return
        else:
            state = IntentState.ACKNOWLEDGED
        self._nursery.start_soon(self._write_note, intent_id, state, record)

    def _note_modify(self, record: OrderRecord, intent_id: int | None, *, known: bool) -> None:
        """Settle a MODIFY intent once its outcome is known (or its order is done)."""
        if self._journal is None or intent_id is None or self._nursery is None:
            return
        if known or record.status.is_terminal:
            state = IntentState.TERMINAL
        else:
            state = IntentState.UNKNOWN
            record.open_modifies.append(intent_id)
        self._nursery.start_soon(self._write_note, intent_id, state, record)

    async def _write_note(self, intent_id: int, state: IntentState, record: OrderRecord) -> None:
        assert self._journal is not None
        try:
            await self._journal.record_outcome(
                intent_id,
                state,
                status=record.status if record.status.is_terminal else None,
                venue_order_id=record.venue_order_id,
                detail=record.error,
            )
        except JournalError as exc:
            # The intent stays non-terminal on disk: a restart reconciles it again.
            log.warning("journal note for %s failed: %s", record.client_order_id, exc)

    # -- jobs --------------------------------------------------------------------------

    async def _place_job(self, cmd: PlaceOrder, record: OrderRecord | None) -> None:
        try:
            if record is None:
                try:
                    record = await self._register(cmd.strategy, cmd.request)
                except EngineError as exc:  # never sent: no id could be had
                    cmd.reply_to.send(OrderFailed(error=exc))
                    return
            if await self._write_intent(record):
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
                # The last attempt was signed no later than now, so the exchange can act
                # on it no later than now + recvWindow: a conservative base for absence.
                record.sent_at = trio.current_time()
                await self._settle_placement(record, outcome)
                self._note(record)
            self._reply(cmd, record)
        except BaseException:
            self._answer_interrupted(cmd, record)
            raise
        finally:
            if record is not None:
                record.settled.set()
                record.busy -= 1
            self._in_flight -= 1
            self._sync_live()

    async def _write_intent(self, record: OrderRecord) -> bool:
        """Journal a placement; on failure reject it unsent and return False."""
        kind = IntentKind.ALGO_PLACE if record.is_algo else IntentKind.PLACE
        try:
            record.intent_id = await self._journal_intent(record, kind, record.request.to_params())
        except JournalError as exc:
            record.error = f"not sent: the intent could not be journaled ({exc})"
            record.failure = exc
            record.step(FsmEvent.REJECT)
            self._emit(record.status_events())
            return False
        return True

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

    async def _recover_job(self, record: OrderRecord) -> None:
        """Reconcile an order this actor inherited (crash restart, journal)."""
        try:
            if record.status in _UNSETTLED:
                if record.sent_at == 0.0:
                    # When it was sent is unknown: count the window from now.
                    record.sent_at = trio.current_time()
                if record.error is None:
                    record.error = "the engine restarted before this placement was settled"
                await self._resolve_unknown(record)
            else:
                await self._look_up(record, lane=Lane.QUERY)
            self._note(record)
        finally:
            record.settled.set()
            record.busy -= 1
            self._sync_live()

    async def _cancel_job(self, record: OrderRecord, cmd: CancelOrder) -> None:
        try:
            await record.settled.wait()
            if not self._cancellable(record):
                self._reply(cmd, record)
                return
            await self._cancel_one(record, cmd.deadline)
            self._reply(cmd, record)
        except BaseException:
            self._answer_interrupted(cmd, record)
            raise
        finally:
            record.busy -= 1
            self._in_flight -= 1

    def _cancellable(self, record: OrderRecord) -> bool:
        """False for an order that is done or unresolved (published when done)."""
        if record.status.is_terminal:
            self._publish(
                CancelRejected(order=record.snapshot(), reason=f"already {record.status}")
            )
            return False
        return record.status not in (OrderStatus.UNKNOWN, OrderStatus.UNRESOLVED)

    async def _finish_cancel(
        self, record: OrderRecord, outcome: RestOutcome | ExchangeError
    ) -> None:
        """Read a cancel's answer; anything but the canceled order means: look it up."""
        if (
            isinstance(outcome, RestSucceeded)
            and not record.is_algo
            and self._apply(record, outcome.payload)
        ):
            return
        # -2011 (filled a moment earlier?), algo cancel acks, unknown outcomes:
        # ask the exchange what the order is now, until it answers.
        error: EngineError | None = None
        definitive = False
        if isinstance(outcome, ExchangeError):
            error, definitive = outcome, classify(outcome) is Outcome.REJECTED
        elif isinstance(outcome, RestFailed):
            # Refused, or never sent at all (halted, overloaded, out of time).
            error, definitive = outcome.error, outcome.outcome is not Outcome.UNKNOWN
        refused = definitive and not _is_code(error, _UNKNOWN_ORDER_SENT)
        # A plain refusal leaves the order as it was: one look is enough. After
        # -2011 or an unknown outcome the order may be done: look until it shows.
        applied = await self._look_up(record, lane=Lane.PRIORITY, once=refused)
        if record.status is OrderStatus.PENDING_CANCEL and (applied or refused):
            # The exchange shows the order still open, or refused the cancel.
            record.step(FsmEvent.CANCEL_REJECT)
            reason = str(error) if refused else "still open"
            self._publish(CancelRejected(order=record.snapshot(), reason=reason))

    async def _query_job(self, record: OrderRecord, cmd: QueryOrder) -> None:
        try:
            outcome = await self._fetch(record, lane=Lane.QUERY)
            if isinstance(outcome, RestSucceeded):
                self._apply(record, outcome.payload)
            self._reply(cmd, record)
        except BaseException:
            self._answer_interrupted(cmd, record)
            raise

    async def _modify_job(self, record: OrderRecord, cmd: ModifyOrder) -> None:
        try:
            await record.settled.wait()
            if record.status in (
                OrderStatus.FILLED,
                OrderStatus.UNKNOWN,
                OrderStatus.UNRESOLVED,
            ):
                # A fill won the race (answered as the order is), or unresolved.
                self._reply(cmd, record)
                return
            if record.status not in _MODIFIABLE:
                cmd.reply_to.send(
                    OrderFailed(
                        error=InvalidCombination(
                            reason=f"the order is {record.status}: not modified, nothing sent"
                        ),
                        order=record.snapshot(),
                    )
                )
                return
            request = record.request
            params = {
                "symbol": self.symbol.value,
                "origClientOrderId": record.client_order_id.value,
                "side": request.side.value,
                "quantity": fmt(cmd.quantity),
                "price": fmt(cmd.price),
            }
            intent_id = await self._journal_intent(record, IntentKind.MODIFY, params)
            outcome = await self._requester.request(
                endpoint("modify_order"),
                params,
                strategy=record.strategy,
                lane=Lane.ORDER,
                deadline=cmd.deadline,
                idempotent=False,
            )
            if isinstance(outcome, RestSucceeded) and self._apply(record, outcome.payload):
                self._note_modify(record, intent_id, known=True)
                self._reply(cmd, record)
                return
            await self._look_up(record, lane=Lane.ORDER)
            applied = record.request.quantity == cmd.quantity and record.request.price == cmd.price
            refused = isinstance(outcome, RestFailed) and outcome.outcome is not Outcome.UNKNOWN
            self._note_modify(record, intent_id, known=applied or refused)
            if applied or record.status.is_terminal:
                self._reply(cmd, record)
                return
            error = outcome.error if isinstance(outcome, RestFailed) else None
            if error is None or (
                isinstance(outcome, RestFailed) and outcome.outcome is Outcome.UNKNOWN
            ):
                error = OutcomeUnknown(
                    client_order_id=record.client_order_id.value,
                    cause="the modification's outcome is unknown; the order shows its old terms",
                )
            cmd.reply_to.send(OrderFailed(error=error, order=record.snapshot()))
        except JournalError as exc:
            cmd.reply_to.send(OrderFailed(error=exc, order=record.snapshot()))
        except BaseException:
            self._answer_interrupted(cmd, record)
            raise
        finally:
            record.busy -= 1
            self._in_flight -= 1

    async def _place_batch_job(
        self, cmd: PlaceBatch, slots: list[OrderRecord | OrderReply | None]
    ) -> None:
        answers: list[OrderReply | None] = [
            s if isinstance(s, OrderSucceeded | OrderFailed) else None for s in slots
        ]
        registered = [(i, s) for i, s in enumerate(slots) if isinstance(s, OrderRecord)]
        try:
            for index, request in enumerate(cmd.requests):
                if slots[index] is None:
                    try:
                        registered.append((index, await self._register(cmd.strategy, request)))
                    except EngineError as exc:
                        answers[index] = OrderFailed(error=exc)
            journaled: list[bool] = [False] * len(registered)

            async def journal(k: int, record: OrderRecord) -> None:
                journaled[k] = await self._write_intent(record)

            async with trio.open_nursery() as nursery:  # one group commit, not one per item
                for k, (_, record) in enumerate(registered):
                    nursery.start_soon(journal, k, record)
            to_send = [r for (_, r), ok in zip(registered, journaled, strict=True) if ok]
            async with trio.open_nursery() as nursery:
                for chunk in chunks(to_send, MAX_BATCH_PLACE):
                    nursery.start_soon(self._send_batch, chunk, cmd)
            for index, record in registered:
                answers[index] = self._answer(record)
            cmd.reply_to.send(BatchDone(results=tuple(a for a in answers if a is not None)))
        except BaseException:
            interrupted = OrderFailed(
                error=OutcomeUnknown(
                    client_order_id="", cause="the engine stopped before this batch finished"
                )
            )
            cmd.reply_to.send(BatchDone(results=tuple(a or interrupted for a in answers)))
            raise
        finally:
            for _, record in registered:
                record.settled.set()
                record.busy -= 1
            self._in_flight -= len(cmd.requests)
            self._sync_live()

    async def _send_batch(self, records: Sequence[OrderRecord], cmd: PlaceBatch) -> None:
        endpoint_ = endpoint("batch_orders")
        outcome = await self._requester.request(
            endpoint_,
            batch_place_params([r.request for r in records]),
            strategy=cmd.strategy,
            lane=Lane.ORDER,
            deadline=cmd.deadline,
            retry=self._config.placement_retry,
            idempotent=False,
        )
        now = trio.current_time()
        per_item: list[RestOutcome] = [outcome] * len(records)
        if isinstance(outcome, RestSucceeded):
            try:
                items = batch_items(outcome.payload, len(records), path=endpoint_.path)
            except ValueError:
                unknown = RestFailed(
                    request_id=outcome.request_id,
                    outcome=Outcome.UNKNOWN,
                    error=OutcomeUnknown(client_order_id="", cause="batch answer did not parse"),
                    elapsed_s=outcome.elapsed_s,
                )
                per_item = [unknown] * len(records)
            else:
                per_item = [
                    RestFailed(
                        request_id=outcome.request_id,
                        outcome=classify(item),
                        error=item,
                        elapsed_s=outcome.elapsed_s,
                    )
                    if isinstance(item, ExchangeError)
                    else attrs.evolve(outcome, payload=item)
                    for item in items
                ]
        async with trio.open_nursery() as nursery:
            for record, item_outcome in zip(records, per_item, strict=True):
                record.sent_at = now
                nursery.start_soon(self._settle_and_note, record, item_outcome)

    async def _settle_and_note(self, record: OrderRecord, outcome: RestOutcome) -> None:
        await self._settle_placement(record, outcome)
        self._note(record)

    async def _cancel_batch_job(self, cmd: CancelBatch) -> None:
        answers: list[OrderReply | None] = [None] * len(cmd.client_order_ids)
        mine: list[tuple[int, OrderRecord]] = []
        try:
            for index, cid in enumerate(cmd.client_order_ids):
                record = self._find(cmd.strategy, cid)
                if record is None:
                    answers[index] = OrderFailed(error=NotFound(what=f"order {cid}"))
                    continue
                record.busy += 1
                mine.append((index, record))
            for _, record in mine:
                await record.settled.wait()
            live = [(i, r) for i, r in mine if self._cancellable(r)]
            async with trio.open_nursery() as nursery:
                for chunk in chunks(live, MAX_BATCH_CANCEL):
                    nursery.start_soon(self._send_cancel_batch, [r for _, r in chunk], cmd)
            for index, record in mine:
                answers[index] = self._answer(record)
            cmd.reply_to.send(BatchDone(results=tuple(a for a in answers if a is not None)))
        except BaseException:
            interrupted = OrderFailed(
                error=OutcomeUnknown(
                    client_order_id="", cause="the engine stopped before this batch finished"
                )
            )
            cmd.reply_to.send(BatchDone(results=tuple(a or interrupted for a in answers)))
            raise
        finally:
            for _, record in mine:
                record.busy -= 1
            self._in_flight -= 1

    async def _send_cancel_batch(self, records: Sequence[OrderRecord], cmd: CancelBatch) -> None:
        plain = [r for r in records if not r.is_algo]
        algos = [r for r in records if r.is_algo]
        async with trio.open_nursery() as nursery:
            for record in algos:  # the Algo Service has no batch cancel
                nursery.start_soon(self._cancel_one, record, cmd.deadline)
            if not plain:
                return
            for record in plain:
                record.step(FsmEvent.CANCEL_REQUEST)
            endpoint_ = endpoint("cancel_batch_orders")
            outcome = await self._requester.request(
                endpoint_,
                batch_cancel_params(self.symbol.value, [r.client_order_id for r in plain]),
                strategy=cmd.strategy,
                lane=Lane.PRIORITY,
                deadline=cmd.deadline,
                idempotent=True,
            )
            per_item: list[RestOutcome | ExchangeError] = [outcome] * len(plain)
            if isinstance(outcome, RestSucceeded):
                try:
                    items = batch_items(outcome.payload, len(plain), path=endpoint_.path)
                except ValueError:
                    pass  # every item is looked up
                else:
                    per_item = [
                        item
                        if isinstance(item, ExchangeError)
                        else attrs.evolve(outcome, payload=item)
                        for item in items
                    ]
            for record, item_outcome in zip(plain, per_item, strict=True):
                nursery.start_soon(self._finish_cancel, record, item_outcome)

    async def _cancel_one(self, record: OrderRecord, deadline: float) -> None:
        """Send one cancel and settle what it did."""
        record.step(FsmEvent.CANCEL_REQUEST)
        outcome = await self._requester.request(
            endpoint("cancel_algo_order" if record.is_algo else "cancel_order"),
            self._id_params(record),
            strategy=record.strategy,
            lane=Lane.PRIORITY,
            deadline=deadline,
            idempotent=True,  # a second cancel is harmless: -2011 is read via a query
        )
        await self._finish_cancel(record, outcome)

    def _answer_interrupted(
        self,
        cmd: PlaceOrder | CancelOrder | QueryOrder | ModifyOrder,
        record: OrderRecord | None,
    ) -> None:
        """Answer a job cut short (a crash, or shutdown past ``drain_s``): I2, one each.

        If the job had already answered, its reply slot ignores this one. A
        placement stopped before it had an id was never sent.
        """
        if record is None:
            cmd.reply_to.send(OrderFailed(error=EngineClosed()))
            return
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
        try:
            await self._cancel_all(cmd)
        except BaseException:
            cmd.reply_to.send(
                OrderFailed(
                    error=OutcomeUnknown(
                        client_order_id="", cause="the engine stopped before cancel-all finished"
                    )
                )
            )
            raise

    async def _cancel_all(self, cmd: CancelAllOrders) -> None:
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
                with trio.CancelScope() as self._poll_nap:
                    await trio.sleep(
                        self._config.stream_poll_interval_s
                        if self._stream_up
                        else self._config.poll_interval_s
                    )
                if self._poll_nap.cancelled_caught:
                    continue  # the stream went up or down: pause for the new state
                await self._reconcile(skip_busy=True)
                self._sync_live()

    # -- the user-data stream ------------------------------------------------------------

    async def _stream_loop(self, scope: trio.CancelScope) -> None:
        with scope:
            async for item in self._stream_inbox:
                match item:
                    case OrderTradeUpdate():
                        self._on_order_update(item)
                    case AlgoUpdate():
                        self._on_algo_update(item)
                    case Resync():
                        assert self._nursery is not None
                        self._nursery.start_soon(self._resync_job, item)

    def _on_order_update(self, event: OrderTradeUpdate) -> None:
        order = event.order
        self._stream_events += 1
        record = self._by_client_id(order.client_order_id)
        if (
            record is None
            or record.is_algo
            or (record.venue_order_id is not None and record.venue_order_id != order.order_id)
        ):
            # Another process, a person, a liquidation, or another order reusing a
            # finished order's client id: never another strategy's (row 43).
            self._external_events += 1
            return
        if order.trade_id:
            self._last_trade_ms = max(self._last_trade_ms, order.trade_time)
        self._emit(record.apply_stream(order))

    def _on_algo_update(self, event: AlgoUpdate) -> None:
        algo = event.order
        self._stream_events += 1
        record = self._by_client_id(algo.client_algo_id)
        if record is None or not record.is_algo:
            self._external_events += 1
            return
        report = AlgoOrder(
            algo_id=algo.algo_id,
            client_algo_id=algo.client_algo_id,
            symbol=algo.symbol,
            side=algo.side,
            order_type=algo.order_type,
            algo_status=algo.algo_status,
            status=algo.status,
            quantity=algo.quantity,
            trigger_price=algo.trigger_price,
            executed_qty=algo.actual_qty,
            avg_price=algo.actual_avg_price,
        )
        self._emit(record.apply_report(report))

    def _by_client_id(self, value: str) -> OrderRecord | None:
        try:
            return self._orders.get(ClientOrderId(value))
        except EngineError:
            return None  # not an id this engine could have made

    async def _resync_job(self, cmd: Resync) -> None:
        """Reconcile everything a stream gap may have hidden (row 39)."""
        # Only fills that REST revealed count as recovered, not ones the stream
        # delivered meanwhile. Orders already done cannot gain fills.
        unsettled = [r for r in self._orders.values() if not r.status.is_terminal]
        found = 0
        try:
            found += await self._reconcile()
            for record in unsettled:
                # Conditional orders are not in openOrders: look each one up.
                if record.is_algo and not record.busy and record.status in _OPEN:
                    fetched = await self._fetch(record, lane=Lane.QUERY)
                    if isinstance(fetched, RestSucceeded):
                        found += self._apply_counting(record, fetched.payload) or 0
            found += await self._recover_trades(unsettled)
        finally:
            cmd.reply_to.send(found)

    async def _recover_trades(self, records: Sequence[OrderRecord]) -> int:
        """Read ``userTrades`` since the last applied trade (with overlap); apply new ones once.

        Only ``records`` (the orders that were not done when the gap was found)
        are looked for; pages are read until one comes back short. Returns the
        fills found.
        """
        by_venue = {
            r.venue_order_id.value: r
            for r in records
            if r.venue_order_id is not None and not r.is_algo
        }
        since = self._last_trade_ms or min(
            (r.update_time for r in by_venue.values() if r.update_time), default=0
        )
        found = 0
        start = max(0, since - TRADE_OVERLAP_MS) if since else None
        for _ in range(_MAX_TRADE_PAGES if by_venue else 0):
            params = {"symbol": self.symbol.value, "limit": str(_TRADE_PAGE)}
            if start is not None:
                params["startTime"] = str(start)
            outcome = await self._requester.request(
                endpoint("user_trades"),
                params,
                strategy="_engine",
                lane=Lane.QUERY,
                deadline=trio.current_time() + self._config.request_timeout_s,
            )
            if not isinstance(outcome, RestSucceeded) or not isinstance(outcome.payload, list):
                break
            last = start
            for row in outcome.payload:
                try:
                    trade = AccountTrade.from_wire(row)
                except (MalformedResponse, EngineError, ValueError):
                    continue
                last = max(last or 0, trade.time)
                record = by_venue.get(trade.order_id)
                if record is not None:
                    self._last_trade_ms = max(self._last_trade_ms, trade.time)
                    found += self._emit(record.apply_trade(trade))
            if len(outcome.payload) < _TRADE_PAGE or last == start:
                break
            start = last  # trade ids already seen are skipped, so the overlap is harmless
        return found

    async def _reconcile(self, *, skip_busy: bool = False) -> int:
        """Bring local open orders in line with the exchange's view; the fills it found."""
        tracked = [
            r
            for r in self._orders.values()
            if (r.status in _OPEN or r.status is OrderStatus.UNRESOLVED)
            and not r.is_algo
            and not (skip_busy and r.busy)
        ]
        if not tracked:
            return 0
        outcome = await self._requester.request(
            endpoint("open_orders"),
            {"symbol": self.symbol.value},
            strategy="_engine",
            lane=Lane.QUERY,
            deadline=trio.current_time() + self._config.request_timeout_s,
        )
        if not isinstance(outcome, RestSucceeded) or not isinstance(outcome.payload, list):
            return 0
        seen: dict[str, object] = {}
        for item in outcome.payload:
            if isinstance(item, Mapping):
                cid = item.get("clientOrderId")
                if isinstance(cid, str):
                    seen[cid] = item
        found = 0
        for record in tracked:
            payload = seen.get(record.client_order_id.value)
            if payload is not None:
                found += self._apply_counting(record, payload) or 0
            elif not (skip_busy and record.busy):
                fetched = await self._fetch(record, lane=Lane.QUERY)
                if isinstance(fetched, RestSucceeded):
                    found += self._apply_counting(record, fetched.payload) or 0
        return found

    def statistics(self) -> SymbolStatistics:
        """Order counts by status."""
        by_status: dict[str, int] = {}
        for record in self._orders.values():
            by_status[record.status.value] = by_status.get(record.status.value, 0) + 1
        return SymbolStatistics(
            symbol=self.symbol.value,
            orders=len(self._orders),
            open_orders=sum(1 for r in self._orders.values() if r.status in _OPEN),
            in_flight=self._in_flight,
            by_status=by_status,
            restarts=self.restarts,
            stream_events=self._stream_events,
            external_events=self._external_events,
        )


class _Discard:
    """A reply target for internal sub-requests whose answer nobody awaits."""

    def send(self, value: object, /) -> None:
        """Drop the answer."""


def _is_code(error: EngineError | None, code: int) -> bool:
    return isinstance(error, ExchangeError) and error.code == code


def _error_of(record: OrderRecord) -> EngineError:
    if record.failure is not None:
        return record.failure
    return NotFound(what=f"order {record.client_order_id}: {record.error or 'not placed'}")
