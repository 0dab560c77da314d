"""Shared rig for the fault-row scenarios: an engine on the sim, a scriptable tap, checkers.

The simulator's own :class:`~trio_fapi.sim.FaultPlan` covers the faults of the
catalogue that an exchange produces (drop, lost, 503 "Unknown error", delay,
corrupt body, cancel race, query lag, skew). Some rows need an answer the
simulator never gives on its own: a 503 "Service Unavailable", a -1007 body, a
502 HTML page, a write error half-way, a body of the wrong shape. The
:class:`Tap` transport sits between the engine and the simulator and scripts
those, as faults.md's "Tx" column describes, while recording every request so a
scenario can count attempts (a resend is the bug most of these rows are about).

Every check here compares the engine with the simulator's ledger, which is the
ground truth of what the exchange applied.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import TypeVar, cast
from urllib.parse import parse_qsl

import attrs
import httpx
import pytest
import trio

from tests.scenarios.test_end_to_end import below_market, config_for, ledger_orders
from trio_fapi import OrderRequest, open_executor
from trio_fapi.actors.executor import Executor
from trio_fapi.protocol.enums import OrderStatus
from trio_fapi.protocol.errors import EngineError
from trio_fapi.protocol.messages import ExecutorEvent, OrderEvent, OrderSnapshot
from trio_fapi.sim import (
    FaultKind,
    FaultPlan,
    FaultStep,
    SimConfig,
    SimHandle,
    default_config,
    open_sim,
)

__all__ = [
    "BOUND_S",
    "BUSY_503",
    "CALL_BOUND_S",
    "INTERNAL_503",
    "NEW_ORDER",
    "ORDER_PATH",
    "STILL",
    "TRANSIENT",
    "UNKNOWN_503",
    "Answer",
    "Calls",
    "Fail",
    "Mutate",
    "Recorder",
    "Reply",
    "Rig",
    "Rule",
    "Seen",
    "Tap",
    "assert_engine_matches_ledger",
    "assert_found_not_resent",
    "assert_resent_once",
    "binance_error",
    "check_against_ledger",
    "errors_by_code",
    "final_state",
    "live_engine_tasks",
    "on_first",
    "open_engine",
    "place_failing",
    "place_settled",
    "record_events",
    "reply_of",
    "resting_buy",
    "rows_with",
    "with_fields",
]

#: Generous trio-clock bound for one scenario: resolving an unknown outcome can
#: take the engine's whole ``unknown_resolution_s`` (30 s) and more in retries.
BOUND_S = 300.0
#: A still market: prices move only when a test pushes them, so fills are exact.
STILL = default_config(seed=11).still_market()
ORDER_PATH = "/fapi/v1/order"
NEW_ORDER = ("POST", ORDER_PATH)

#: Binance's 503 for "the request may have been executed" (no code, faults.md row 8).
UNKNOWN_503 = b'{"msg":"Unknown error, please check your request or try again later."}'
#: Binance's documented "not executed" 503 answers (faults.md row 10).
BUSY_503 = b'{"code":-1001,"msg":"Service Unavailable."}'
INTERNAL_503 = (
    b'{"code":-1001,"msg":"Internal error; unable to process your request. Please try again."}'
)


def on_first(
    kind: FaultKind,
    method: str = "POST",
    path: str = ORDER_PATH,
    *,
    times: int = 1,
    delay_s: float = 30.0,
    symbol: str | None = None,
) -> FaultPlan:
    """A plan that injects ``kind`` into the first ``times`` requests to one route."""
    return FaultPlan.scripted(
        FaultStep(fault=kind, method=method, path=path, symbol=symbol, times=times),
        delay_s=delay_s,
    )


def binance_error(code: int, msg: str) -> bytes:
    """A Binance JSON error body."""
    return json.dumps({"code": code, "msg": msg}).encode()


def errors_by_code(stats: Mapping[str, object]) -> dict[str, int]:
    """The exchange's error answers by code, from ``sim.stats()``."""
    errors = stats["errors_by_code"]
    assert isinstance(errors, dict)
    return {str(k): int(v) for k, v in errors.items()}


# -- the scripted tap --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Seen:
    """One request the engine sent, as it left the engine."""

    time_s: float
    method: str
    path: str
    params: Mapping[str, str]

    @property
    def client_order_id(self) -> str | None:
        """The client order id the request names, if any."""
        for key in ("newClientOrderId", "origClientOrderId", "clientAlgoId"):
            if key in self.params:
                return self.params[key]
        return None


@attrs.frozen(kw_only=True)
class Answer:
    """Answer with this response; ``apply`` first lets the exchange act on the request."""

    status: int
    body: bytes
    apply: bool
    headers: Mapping[str, str] = attrs.field(factory=lambda: {"Content-Type": "application/json"})


@attrs.frozen(kw_only=True)
class Fail:
    """Raise this transport error; ``apply`` first lets the exchange act on the request."""

    error: Callable[[httpx.Request], Exception]
    apply: bool


@attrs.frozen(kw_only=True)
class Mutate:
    """Let the exchange act, then rewrite the JSON body of its answer."""

    edit: Callable[[object], object]
    status: int | None = None


def with_fields(**fields: object) -> Callable[[object], object]:
    """A :class:`Mutate` edit that overwrites (or adds) these fields of a JSON object."""

    def edit(payload: object) -> object:
        assert isinstance(payload, dict)
        return {**payload, **fields}

    return edit


Action = Answer | Fail | Mutate


@attrs.frozen(kw_only=True)
class Rule:
    """Requests number ``nth`` to ``nth + times - 1`` matching method and path get ``action``."""

    action: Action
    method: str
    path: str
    symbol: str | None = None
    nth: int = 1
    times: int = 1


class Tap(httpx.AsyncBaseTransport):
    """Records every request and applies scripted rules in front of the simulator."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self._rules: list[tuple[Rule, list[int]]] = []
        self.seen: list[Seen] = []
        #: Called with every request before anything else happens to it.
        self.on_send: Callable[[Seen], Awaitable[None]] | None = None

    def script(self, *rules: Rule) -> None:
        """Replace the rules; their counts start again from zero."""
        self._rules = [(rule, [0]) for rule in rules]

    def requests(self, method: str, path: str) -> list[Seen]:
        """The requests sent so far to one route."""
        return [s for s in self.seen if s.method == method and s.path == path]

    def count(self, method: str, path: str) -> int:
        """How many requests went to one route."""
        return len(self.requests(method, path))

    def _pick(self, seen: Seen) -> Action | None:
        chosen: Action | None = None
        for rule, counter in self._rules:
            if rule.method != seen.method or rule.path != seen.path:
                continue
            if rule.symbol is not None and seen.params.get("symbol") != rule.symbol:
                continue
            counter[0] += 1
            if chosen is None and rule.nth <= counter[0] < rule.nth + rule.times:
                chosen = rule.action
        return chosen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward, answer or fail the request as the rules say."""
        body = await request.aread()
        params = dict(parse_qsl(request.url.query.decode()))
        params.update(parse_qsl(body.decode()))
        seen = Seen(
            time_s=trio.current_time(),
            method=request.method,
            path=request.url.path,
            params=params,
        )
        self.seen.append(seen)
        if self.on_send is not None:
            await self.on_send(seen)
        action = self._pick(seen)
        if isinstance(action, Fail) and not action.apply:
            raise action.error(request)
        if isinstance(action, Answer) and not action.apply:
            return httpx.Response(
                action.status, content=action.body, headers=dict(action.headers), request=request
            )
        response = await self._inner.handle_async_request(request)
        match action:
            case None:
                return response
            case Fail():
                raise action.error(request)
            case Answer():
                return httpx.Response(
                    action.status,
                    content=action.body,
                    headers=dict(action.headers),
                    request=request,
                )
            case Mutate():
                await response.aread()
                edited = action.edit(json.loads(response.content))
                return httpx.Response(
                    action.status or response.status_code,
                    content=json.dumps(edited).encode(),
                    headers={"Content-Type": "application/json"},
                    request=request,
                )

    async def aclose(self) -> None:
        """Close the simulator's transport."""
        await self._inner.aclose()


# -- the rig --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Rig:
    """A simulator, an executor trading on it through a tap."""

    sim: SimHandle
    ex: Executor
    tap: Tap

    def ledger_rows(self, client_order_id: str) -> list[dict[str, object]]:
        """The exchange's orders carrying this client id (I1 wants at most one)."""
        return rows_with(self.sim, client_order_id)

    def posts(self) -> int:
        """New-order requests the engine sent."""
        return self.tap.count(*NEW_ORDER)


@asynccontextmanager
async def open_engine(
    *,
    sim_config: SimConfig | None = None,
    plan: FaultPlan | None = None,
    rules: tuple[Rule, ...] = (),
    **overrides: object,
) -> AsyncIterator[Rig]:
    """An executor on a fresh simulator; faults and rules apply once it has started.

    Start-up (clock sync, exchangeInfo, position mode) is left alone so each
    scenario's fault hits exactly the requests it is about.
    """
    async with open_sim(sim_config or STILL) as sim:
        tap = Tap(sim.transport)
        async with open_executor(config_for(sim, **overrides), transport=tap) as ex:
            sim.set_faults(plan)
            tap.script(*rules)
            yield Rig(sim=sim, ex=ex, tap=tap)


async def resting_buy(
    ex: Executor,
    *,
    side: str = "BUY",
    symbol: str = "BTCUSDT",
    qty: str = "0.002",
    ticks: int = 50,
    client_order_id: str | None = None,
) -> OrderRequest:
    """A LIMIT order ``ticks`` away from the touch: it rests, so its state changes only when told.

    A BUY (the default) goes below the bid, a SELL above the ask.
    """
    if side == "BUY":
        price = await below_market(ex, symbol, ticks)
    else:
        book = await ex.book_ticker(symbol)
        price = book.ask_price + ex.rules(symbol).price_filter.tick_size * ticks
    return OrderRequest.limit(symbol, side, qty, price, client_order_id=client_order_id)


_E = TypeVar("_E", bound=BaseException)


async def place_settled(rig: Rig, request: OrderRequest) -> OrderSnapshot:
    """Place ``request`` and wait, at most :data:`BOUND_S`, for the engine's one answer."""
    with trio.fail_after(BOUND_S):
        return await rig.ex.place_order(request)


async def place_failing(rig: Rig, request: OrderRequest, error: type[_E]) -> _E:
    """Place ``request``; the engine's one answer, within :data:`BOUND_S`, must be ``error``."""
    with trio.fail_after(BOUND_S), pytest.raises(error) as caught:
        await rig.ex.place_order(request)
    return caught.value


def final_state(ex: Executor, client_order_id: str) -> OrderSnapshot:
    """The engine's current view of one of its orders."""
    (snap,) = [o for o in ex.orders() if o.client_order_id.value == client_order_id]
    return snap


def rows_with(sim: SimHandle, client_order_id: str) -> list[dict[str, object]]:
    """The ledger's orders with this client id."""
    return [o for o in ledger_orders(sim) if o["clientOrderId"] == client_order_id]


def assert_engine_matches_ledger(sim: SimHandle, order: OrderSnapshot) -> None:
    """I1 and I3 for one order: one ledger row, and the engine agrees on status, quantity, price."""
    rows = rows_with(sim, order.client_order_id.value)
    assert len(rows) == 1, f"{order.client_order_id}: {len(rows)} orders on the exchange"
    (row,) = rows
    mine = (order.status.value, order.executed_qty, order.avg_price)
    theirs = (row["status"], Decimal(str(row["executedQty"])), Decimal(str(row["avgPrice"])))
    assert mine == theirs, f"{order.client_order_id}: engine {mine} != ledger {theirs}"


#: Statuses an order may pass through but must not be left in once the faults heal.
TRANSIENT = (OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN, OrderStatus.PENDING_CANCEL)


def check_against_ledger(ex: Executor, sim: SimHandle) -> None:
    """I1, I3 and I8 over a whole run, once the faults have healed and the engine reconciled.

    I1: no client order id twice on the exchange. I3: every order on the
    exchange is known to the engine, with the same status, executed quantity
    and average price. I8: no order is left in a :data:`TRANSIENT` status, and
    one the exchange never had ended REJECTED (proven absent) or UNRESOLVED
    (escalated).
    """
    rows = ledger_orders(sim)
    by_id = Counter(str(r["clientOrderId"]) for r in rows)
    duplicated = [cid for cid, n in by_id.items() if n > 1]
    assert duplicated == [], f"I1: duplicate orders on the exchange: {duplicated}"
    engine = {o.client_order_id.value: o for o in ex.orders()}
    for row in rows:
        cid = str(row["clientOrderId"])
        assert cid in engine, f"I3: {cid} is on the exchange but the engine lost it"
        order = engine[cid]
        mine = (order.status.value, order.executed_qty, order.avg_price)
        theirs = (row["status"], Decimal(str(row["executedQty"])), Decimal(str(row["avgPrice"])))
        assert mine == theirs, f"I3: {cid}: engine {mine} != ledger {theirs}"
    for cid, order in engine.items():
        assert order.status not in TRANSIENT, f"I8: {cid} still {order.status} after the heal"
        if cid not in by_id:
            assert order.status in (OrderStatus.REJECTED, OrderStatus.UNRESOLVED), (
                f"I8: {cid} is {order.status} but the exchange never had it"
            )


def assert_found_not_resent(rig: Rig, order: OrderSnapshot, events: Recorder | None = None) -> None:
    """A placement with an unknown outcome, resolved by evidence (rows 8-20).

    The engine answers NEW, agrees with the one ledger row (I1, I3) and sent
    one POST; with ``events``, the order went PENDING_NEW, UNKNOWN, NEW.
    """
    assert order.status is OrderStatus.NEW
    assert_engine_matches_ledger(rig.sim, order)
    assert rig.posts() == 1
    if events is not None:
        statuses = events.statuses(order.client_order_id.value)
        assert statuses == [OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN, OrderStatus.NEW]


def assert_resent_once(rig: Rig, order: OrderSnapshot) -> tuple[Seen, Seen]:
    """A placement sent twice under the order's client id, landed once (I1); the two POSTs."""
    assert_engine_matches_ledger(rig.sim, order)
    first, second = rig.tap.requests(*NEW_ORDER)
    assert first.client_order_id == second.client_order_id == order.client_order_id.value
    return first, second


# -- events and tasks -------------------------------------------------------------------


class Recorder:
    """Collects the order events an executor published, without a task of its own."""

    def __init__(self, channel: trio.MemoryReceiveChannel[ExecutorEvent]) -> None:
        self._channel = channel
        self._events: list[OrderEvent] = []

    def events(self) -> list[OrderEvent]:
        """Every order event published so far, oldest first (stream events are skipped)."""
        while True:
            try:
                event = self._channel.receive_nowait()
            except trio.WouldBlock:
                return list(self._events)
            if hasattr(event, "order"):
                self._events.append(cast(OrderEvent, event))

    def of(self, client_order_id: str) -> list[OrderEvent]:
        """The events about one order."""
        return [e for e in self.events() if e.order.client_order_id.value == client_order_id]

    def statuses(self, client_order_id: str) -> list[OrderStatus]:
        """The order's status after each of its events."""
        return [e.order.status for e in self.of(client_order_id)]


@asynccontextmanager
async def record_events(ex: Executor, buffer: int = 100_000) -> AsyncIterator[Recorder]:
    """Subscribe for the block; the buffer is sized so no event is dropped."""
    async with ex.subscribe(buffer) as channel:
        yield Recorder(channel)


Reply = OrderSnapshot | EngineError


async def reply_of(call: Callable[[], Awaitable[OrderSnapshot]]) -> Reply:
    """A strategy call's one answer: the order, or the engine's definitive failure."""
    try:
        return await call()
    except EngineError as exc:
        return exc


#: trio seconds one strategy call may take to answer, under any fault mix: twice
#: the engine's ``order_deadline_s`` (30 s), which bounds a placement or a cancel,
#: queueing and retries included.
CALL_BOUND_S = 60.0


@attrs.define
class Calls:
    """Every strategy call of a run, keyed by intent: when it started, and its answers (I2).

    An ``await`` returns once, so one call cannot be answered twice; what can
    go wrong is no answer. A call that hangs is cut off after ``bound_s`` and
    left with no answer, which :meth:`assert_one_answer_each` reports; any
    exception other than the engine's :class:`EngineError` is no answer
    either, and fails the run where it is raised. (The run finishing inside
    its ``trio.fail_after`` proves, once more, that every call returned.)
    """

    started: dict[str, float] = attrs.field(factory=dict)
    answers: dict[str, list[Reply]] = attrs.field(factory=dict)

    async def make(
        self,
        key: str,
        call: Callable[[], Awaitable[OrderSnapshot]],
        *,
        bound_s: float = CALL_BOUND_S,
    ) -> Reply | None:
        """Make one call; its answer, or ``None`` when none came within ``bound_s``."""
        assert key not in self.started, f"{key} issued twice"
        self.started[key] = trio.current_time()
        answers = self.answers.setdefault(key, [])
        with trio.move_on_after(bound_s):
            answer = await reply_of(call)
            answers.append(answer)
            return answer
        return None

    def assert_one_answer_each(self) -> None:
        """I2: every call that started got exactly one answer, within its bound."""
        assert self.started, "no call was made"
        for key, at in self.started.items():
            got = len(self.answers[key])
            assert got == 1, f"I2: {key}, started at {at:.3f}, got {got} answers"

    def keys(self, suffix: str) -> list[str]:
        """The calls whose key ends with ``suffix`` (``":place"``, ``":cancel"``)."""
        return [k for k in self.started if k.endswith(suffix)]


def _walk(task: trio.lowlevel.Task) -> Iterator[trio.lowlevel.Task]:
    yield task
    for nursery in task.child_nurseries:
        for child in nursery.child_tasks:
            yield from _walk(child)


def live_engine_tasks() -> list[str]:
    """Names of the engine's tasks still alive anywhere in this trio run (I7)."""
    root = trio.lowlevel.current_root_task()
    assert root is not None
    return [t.name for t in _walk(root) if t.name.startswith("trio_fapi.actors")]
