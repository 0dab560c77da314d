"""Shared rig for the user-data stream scenarios: an engine with its stream on the sim.

:func:`open_stream_engine` runs the in-process simulator and an executor whose
REST calls go through a :class:`~tests.faults.support.Tap` and whose stream
connections go through a :class:`FrameTap`, both in front of the simulator's
own transport and connector. The tap scripts REST answers (a stale snapshot,
row 44); the frame tap records every frame and lets a scenario hold frames
back, rewrite them, replay them or inject frames the exchange would never send
(rows 37, 38, 42, 43). Everything runs on trio's virtual clock.

By default polling is effectively off (``poll_interval_s`` and
``stream_poll_interval_s`` of an hour), so whatever the engine learns between a
scenario's action and its check, it learned from the stream or from the
reconciliation that follows a reconnect, never from a poll.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import attrs
import httpx
import trio

from tests.faults.support import Rule, Tap
from tests.scenarios.test_end_to_end import config_for
from tests.sim.user_stream_support import decode
from trio_fapi import Credentials, ExecutorConfig, OrderStatus, open_executor
from trio_fapi.actors._signing import signed_query
from trio_fapi.actors.executor import Executor
from trio_fapi.actors.symbol_actor import SymbolStatistics
from trio_fapi.actors.user_stream import StreamStatistics
from trio_fapi.protocol.messages import (
    CancelRejected,
    ExecutorEvent,
    OrderAccepted,
    OrderAmended,
    OrderCanceled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSnapshot,
    OrderSubmitted,
    OrderUnknown,
    StreamGap,
    StreamResynced,
)
from trio_fapi.protocol.stream_transport import StreamClosed, StreamConnection, StreamConnector
from trio_fapi.sim import FaultPlan, SimConfig, SimHandle, default_config, open_sim

__all__ = [
    "ORDER_EVENTS",
    "QTY",
    "QUIET",
    "STREAM_BOUND_S",
    "STREAM_STILL",
    "Events",
    "FrameTap",
    "StreamRig",
    "assert_fills_once",
    "assert_never_regresses",
    "cross",
    "engine_positions",
    "eventually",
    "external_order",
    "ledger_positions",
    "open_stream_engine",
    "order_frames",
    "reported_positions",
    "stream_config_for",
    "watch",
]

#: A trio-clock bound for one stream scenario (hours of virtual time under
#: :data:`STREAM_STILL`, so more than the fault rows' ``BOUND_S``): generous, so a
#: deadlock fails fast under autojump.
STREAM_BOUND_S = 600.0
#: A still market whose steps come once a minute: prices move only when a scenario
#: pushes them, and hours of virtual time cost little (the fault rows' ``STILL``
#: steps every second).
STREAM_STILL = attrs.evolve(default_config(seed=11).still_market(), tick_s=60.0)
#: The size of a scenario's resting order (crossed as 0.004 then 0.006, or at once).
QTY = "0.010"
#: Polling off in practice: what the engine learns, it learns from the stream.
QUIET: Mapping[str, float] = {"poll_interval_s": 3600.0, "stream_poll_interval_s": 3600.0}
#: Every order event class (the ``OrderEvent`` union), for ``isinstance``.
ORDER_EVENTS = (
    OrderSubmitted,
    OrderAccepted,
    OrderRejected,
    OrderFilled,
    OrderAmended,
    OrderCanceled,
    OrderExpired,
    CancelRejected,
    OrderUnknown,
)
_RANK = {
    OrderStatus.PENDING_NEW: 0,
    OrderStatus.UNKNOWN: 0,
    OrderStatus.NEW: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
}


def order_frames(frames: Iterable[str | bytes], client_order_id: str) -> list[dict[str, Any]]:
    """The ``ORDER_TRADE_UPDATE`` payloads (``o``) about one order, in order."""
    out: list[dict[str, Any]] = []
    for frame in frames:
        event = decode(frame)
        order = event.get("o")
        if (
            event.get("e") == "ORDER_TRADE_UPDATE"
            and isinstance(order, dict)
            and order.get("c") == client_order_id
        ):
            out.append(order)
    return out


# -- the frame tap ------------------------------------------------------------------------

#: Turns one frame from the exchange into the frames the engine gets (none, one, several).
Rewrite = Callable[[str | bytes], list[str | bytes]]


class _TappedConnection:
    """One connection seen through a :class:`FrameTap`."""

    def __init__(self, tap: FrameTap, inner: StreamConnection) -> None:
        self._tap = tap
        self._inner = inner
        self._pending: deque[str | bytes] = deque()
        self._wake = trio.Event()

    def push(self, frames: Iterable[str | bytes]) -> None:
        self._pending.extend(frames)
        self._wake.set()

    async def get_message(self) -> str | bytes:
        while not self._pending:
            frame = await self._next_or_injection()
            if frame is not None:
                self._tap.received.append(frame)
                self._pending.extend(self._tap.rewrite(frame))
        frame = self._pending.popleft()
        self._tap.delivered.append(frame)
        return frame

    async def _next_or_injection(self) -> str | bytes | None:
        """The exchange's next frame, or ``None`` when frames were injected first."""
        got: list[str | bytes] = []
        closed: list[StreamClosed] = []
        self._wake = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._read, got, closed, nursery.cancel_scope)
            nursery.start_soon(self._injected, nursery.cancel_scope)
        if closed:
            raise closed[0]
        return got[0] if got else None

    async def _read(
        self, got: list[str | bytes], closed: list[StreamClosed], scope: trio.CancelScope
    ) -> None:
        # Both connections' get_message take a frame only when they return, so
        # cancelling a read loses nothing.
        try:
            got.append(await self._inner.get_message())
        except StreamClosed as exc:
            closed.append(exc)
        scope.cancel()

    async def _injected(self, scope: trio.CancelScope) -> None:
        await self._wake.wait()
        scope.cancel()

    async def ping(self) -> None:
        await self._inner.ping()


class FrameTap:
    """A :class:`StreamConnector` in front of another that records and scripts frames.

    Attributes:
        received: Every frame the exchange sent, over all connections, in order.
        delivered: Every frame the engine was handed (after rewrites and injections).
        connects: The trio time each connection opened.
        rewrite: What the engine gets for each frame from the exchange (the
            frame itself by default); scenarios hold back or reorder with it.
        on_connect: Frames handed to the engine first on every new connection
            (a server replaying events after a reconnect, row 38).
    """

    def __init__(self, inner: StreamConnector) -> None:
        self._inner = inner
        self._live: list[_TappedConnection] = []
        self.received: list[str | bytes] = []
        self.delivered: list[str | bytes] = []
        self.connects: list[float] = []
        self.rewrite: Rewrite = lambda frame: [frame]
        self.on_connect: list[str | bytes] = []

    def inject(self, *frames: str | bytes) -> int:
        """Hand ``frames`` to the engine on every open connection now; how many got them."""
        for conn in self._live:
            conn.push(frames)
        return len(self._live)

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[StreamConnection]:
        """Open ``url`` on the inner connector and tap the connection."""
        async with self._inner.connect(url) as inner:
            self.connects.append(trio.current_time())
            conn = _TappedConnection(self, inner)
            conn.push(self.on_connect)
            self._live.append(conn)
            try:
                yield conn
            finally:
                self._live.remove(conn)


# -- the rig ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class StreamRig:
    """A simulator and an executor with its user-data stream, both tapped."""

    sim: SimHandle
    ex: Executor
    tap: Tap
    frames: FrameTap

    @property
    def stream(self) -> StreamStatistics:
        """The executor's stream statistics now."""
        stats = self.ex.statistics().stream
        assert stats is not None, "the executor runs no user-data stream"
        return stats

    def symbol_stats(self, symbol: str = "BTCUSDT") -> SymbolStatistics:
        """One symbol actor's statistics now."""
        (stats,) = [s for s in self.ex.statistics().symbols if s.symbol == symbol]
        return stats


def stream_config_for(sim: SimHandle, **overrides: object) -> ExecutorConfig:
    """An executor config for ``sim`` with the in-process stream; polling off unless overridden."""
    return config_for(sim, stream_url=sim.stream_url, **{**QUIET, **overrides})


@asynccontextmanager
async def open_stream_engine(
    *,
    sim_config: SimConfig | None = None,
    plan: FaultPlan | None = None,
    rules: tuple[Rule, ...] = (),
    **overrides: object,
) -> AsyncIterator[StreamRig]:
    """An executor with its user-data stream on a fresh simulator.

    The stream is up and reconciled when this yields; ``plan`` and ``rules``
    apply from then on, so start-up is left alone.

    Args:
        sim_config: The simulator's config (:data:`STREAM_STILL` by default).
        plan: The simulator's fault plan, set once the engine runs.
        rules: Scripted REST answers for the tap, set once the engine runs.
        overrides: ``ExecutorConfig`` fields; polling is off unless given here.
    """
    async with open_sim(sim_config or STREAM_STILL) as sim:
        tap = Tap(sim.transport)
        frames = FrameTap(sim.stream_connector)
        config = stream_config_for(sim, **overrides)
        async with open_executor(config, transport=tap, stream_connector=frames) as ex:
            rig = StreamRig(sim=sim, ex=ex, tap=tap, frames=frames)
            assert rig.stream.connected, "the stream was not up when the executor started"
            sim.set_faults(plan)
            tap.script(*rules)
            yield rig


# -- orders and the market ----------------------------------------------------------------


def cross(sim: SimHandle, order: OrderSnapshot, qty: str | Decimal) -> None:
    """Let the book trade ``qty`` against resting ``order`` at its price, now.

    The book is pinned with ``qty`` on the opposite side at exactly the order's
    price (the simulator fills it as maker), then the price goes back where it
    was, so nothing else crosses and the next market step adds nothing.
    """
    symbol = order.symbol.value
    assert order.price is not None
    market = sim.exchange.ledger.symbol_market(symbol)
    before = market.price
    tick = market.tick
    opposite = [(order.price, Decimal(qty))]
    if order.side.value == "BUY":
        sim.set_book(symbol, bids=[(order.price - tick, Decimal(1))], asks=opposite)
    else:
        sim.set_book(symbol, bids=opposite, asks=[(order.price + tick, Decimal(1))])
    sim.set_price(symbol, before)


async def external_order(sim: SimHandle, **params: str) -> dict[str, Any]:
    """Place an order straight on the exchange, as another process would (not the engine)."""
    params.setdefault("newOrderRespType", "RESULT")
    creds = Credentials(api_key=sim.config.api_key, api_secret=sim.config.api_secret)
    query = signed_query(
        creds, list(params.items()), timestamp_ms=sim.now_ms(), recv_window_ms=None
    )
    async with httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http:
        response = await http.post(
            f"/fapi/v1/order?{query}", headers={"X-MBX-APIKEY": sim.config.api_key}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


# -- waiting and checking -------------------------------------------------------------------


async def eventually(
    predicate: Callable[[], bool], *, within: float = 60.0, step: float = 0.05
) -> float:
    """Wait (trio clock) until ``predicate()`` holds; the time it took.

    Raises:
        trio.TooSlowError: It did not hold within ``within`` seconds.
    """
    start = trio.current_time()
    with trio.fail_after(within):
        while True:
            if predicate():
                return trio.current_time() - start
            await trio.sleep(step)


class Events:
    """Every event an executor published (order and stream events), read without a task."""

    def __init__(self, channel: trio.MemoryReceiveChannel[ExecutorEvent]) -> None:
        self._channel = channel
        self._events: list[ExecutorEvent] = []

    def events(self) -> list[ExecutorEvent]:
        """All events published so far, oldest first."""
        while True:
            try:
                self._events.append(self._channel.receive_nowait())
            except (trio.WouldBlock, trio.ClosedResourceError, trio.EndOfChannel):
                return list(self._events)

    def of(self, client_order_id: str) -> list[OrderEvent]:
        """The order events about one order."""
        return [
            e
            for e in self.events()
            if isinstance(e, ORDER_EVENTS) and e.order.client_order_id.value == client_order_id
        ]

    def statuses(self, client_order_id: str) -> list[OrderStatus]:
        """The order's status after each of its events."""
        return [e.order.status for e in self.of(client_order_id)]

    def fills(self, client_order_id: str) -> list[OrderFilled]:
        """The fills published for one order."""
        return [e for e in self.of(client_order_id) if isinstance(e, OrderFilled)]

    def stream(self) -> list[StreamGap | StreamResynced]:
        """The gap and resync events, in order."""
        return [e for e in self.events() if isinstance(e, StreamGap | StreamResynced)]


@asynccontextmanager
async def watch(ex: Executor, buffer: int = 100_000) -> AsyncIterator[Events]:
    """Subscribe for the block with a buffer no scenario fills."""
    async with ex.subscribe(buffer) as channel:
        yield Events(channel)


def assert_fills_once(events: Events, order: OrderSnapshot) -> list[OrderFilled]:
    """Every fill published once: the published quantities add up to the executed one."""
    fills = events.fills(order.client_order_id.value)
    assert sum((f.last_qty for f in fills), Decimal(0)) == order.executed_qty, [
        f.last_qty for f in fills
    ]
    return fills


def assert_never_regresses(events: Events, client_order_id: str) -> None:
    """The order's status only moves forward, and nothing follows a terminal status (I5)."""
    # PENDING_CANCEL is a side state (a cancel in flight), left out of the order.
    statuses = [s for s in events.statuses(client_order_id) if s is not OrderStatus.PENDING_CANCEL]
    for before, after in itertools.pairwise(statuses):
        if before.is_terminal:
            assert after is before, f"{client_order_id}: {before} -> {after} ({statuses})"
        elif not after.is_terminal:
            assert _RANK[after] >= _RANK[before], f"{client_order_id}: {statuses}"
    quantities = [e.order.executed_qty for e in events.of(client_order_id)]
    assert quantities == sorted(quantities), f"{client_order_id}: executed went down {quantities}"


def ledger_positions(sim: SimHandle) -> dict[str, Decimal]:
    """Non-zero position per symbol, as the exchange holds it."""
    positions = sim.ledger()["positions"]
    assert isinstance(positions, list)
    return {
        str(p["symbol"]): Decimal(str(p["positionAmt"]))
        for p in positions
        if Decimal(str(p["positionAmt"])) != 0
    }


def engine_positions(ex: Executor) -> dict[str, Decimal]:
    """Non-zero position per symbol, from the fills the engine applied (one-way mode)."""
    out: dict[str, Decimal] = {}
    for order in ex.orders():
        signed = order.executed_qty if order.side.value == "BUY" else -order.executed_qty
        out[order.symbol.value] = out.get(order.symbol.value, Decimal(0)) + signed
    return {symbol: amount for symbol, amount in out.items() if amount != 0}


async def reported_positions(ex: Executor) -> dict[str, Decimal]:
    """Non-zero position per symbol, as ``Executor.positions()`` reports it."""
    return {p.symbol.value: p.amount for p in await ex.positions() if p.amount != 0}
