"""The simulated exchange as an actor, and the httpx transport that talks to it.

The exchange runs in its own task, in its own nursery, apart from its
clients. A request travels over a bounded memory channel and the answer comes
back in a one-shot slot (a :class:`trio.Event` plus a value). This matters for
fault tests (faults.md part d, items 3 and 4):

- a client cancelled while waiting gives up on the *answer* only; the exchange
  still applies the request, exactly as a real one does ("order landed, client
  gave up");
- answering a requester that has left just fills a slot nobody reads, so it
  can never crash the actor.

A ticker task moves the market every ``config.tick_s`` on trio's clock, so
under ``MockClock(autojump_threshold=0)`` prices, stops and resting fills
advance in virtual time.

The user-data stream (:class:`~trio_fapi.sim.user_stream.UserStreamHub`)
runs beside the exchange in the same nursery: it is fed synchronously by the
ledger, so an event exists the moment its change does, and its own task
expires listen keys and old connections on trio's clock. Clients reach it
through :attr:`SimHandle.stream_connector` (in-process) or over loopback
WebSocket (:func:`~trio_fapi.sim.server.serve_sim`).

Faults (a :class:`~trio_fapi.sim.faults.FaultPlan`) are applied here, around
the exchange, by a :class:`~trio_fapi.sim.injector.FaultInjector`, so both
front ends inject them the same way. A delayed answer waits on trio's clock in
the actor's nursery; a severed connection reaches the in-process transport as
the httpx exception a real network raises: ``httpx.ConnectError`` when the
request never arrived, ``httpx.RemoteProtocolError`` ("Server disconnected
without sending a response.") when it was applied and the answer lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import final

import attrs
import httpx
import trio

from trio_fapi._time import AnchoredClock
from trio_fapi.protocol.numbers import to_decimal

from .api import SimRequest, SimResponse, SimulatedExchange
from .config import SimConfig, default_config
from .faults import FaultPlan, InjectedFault
from .injector import FaultInjector, Severed
from .stream_connector import SimStreamConnector
from .stream_routes import STREAM_ROUTES_PREFIX, stream_control
from .user_stream import UserStreamHub, UserStreamStatistics

__all__ = [
    "SIM_BASE_URL",
    "SIM_INBOX_SIZE",
    "SIM_STREAM_URL",
    "SimHandle",
    "SimTransport",
    "open_sim",
]

#: Where clients of the in-process simulator point (the host never resolves).
SIM_BASE_URL = "http://sim.invalid"
#: The user-data stream base URL of the in-process simulator: append
#: ``/private/ws/<listenKey>`` (or ``/ws/<listenKey>``) and open it with
#: :attr:`SimHandle.stream_connector`.
SIM_STREAM_URL = "ws://sim.invalid"
#: Requests that may wait for the actor before senders block.
SIM_INBOX_SIZE = 64
_TICK_SLACK_S = 0.001
_CLOSED = SimResponse(
    status=503,
    body=(
        b'{"code":-1001,"msg":"Internal error; unable to process your request. Please try again."}'
    ),
    headers={"Content-Type": "application/json"},
)


@attrs.define(eq=False)
class _Call:
    """One request and the slot its answer goes into."""

    request: SimRequest
    done: trio.Event = attrs.field(factory=trio.Event)
    response: SimResponse | Severed | None = None

    def reply(self, response: SimResponse | Severed) -> None:
        """Fill the slot; harmless when the requester has gone."""
        if not self.done.is_set():
            self.response = response
            self.done.set()

    async def wait(self) -> SimResponse | Severed:
        await self.done.wait()
        assert self.response is not None
        return self.response


class SimTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose every request is answered by the simulator actor."""

    def __init__(self, inbox: trio.MemorySendChannel[_Call]) -> None:
        self._inbox = inbox

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request to the actor and wait for its answer.

        Raises:
            httpx.ConnectError: The simulator has shut down, or a fault dropped
                the request (nothing was applied).
            httpx.RemoteProtocolError: A fault lost the answer after the
                exchange applied the request.
        """
        call = _Call(await SimRequest.from_httpx(request))
        response = _unsevered(await _deliver(self._inbox, call, request), request)
        return response.to_httpx(request)


async def _deliver(
    inbox: trio.MemorySendChannel[_Call], call: _Call, request: httpx.Request | None
) -> SimResponse | Severed:
    try:
        await inbox.send(call)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        raise httpx.ConnectError("the simulated exchange is closed", request=request) from None
    return await call.wait()


def _unsevered(outcome: SimResponse | Severed, request: httpx.Request | None) -> SimResponse:
    """The response, or the httpx exception a real network gives for a dead connection."""
    if not isinstance(outcome, Severed):
        return outcome
    if outcome.applied:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    raise httpx.ConnectError(
        "connection refused: the request never reached the exchange (injected fault)",
        request=request,
    )


@attrs.define(eq=False)
class _SimActor:
    exchange: SimulatedExchange
    clock: Callable[[], int]
    inbox: trio.MemoryReceiveChannel[_Call]
    injector: FaultInjector
    streams: UserStreamHub
    latency_s: float = 0.0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._ticker)
                task_status.started()
                async for call in self.inbox:
                    if call.request.path.startswith(STREAM_ROUTES_PREFIX):
                        call.reply(stream_control(self.streams, call.request))
                        continue
                    answer = self.injector.answer(
                        self.exchange, call.request, self.clock(), trio.current_time()
                    )
                    delay = self.latency_s + answer.delay_s
                    if delay > 0:
                        nursery.start_soon(self._reply_later, call, answer.outcome, delay)
                    else:
                        call.reply(answer.outcome)
                nursery.cancel_scope.cancel()
        finally:
            self._refuse_waiting()

    async def _reply_later(
        self, call: _Call, response: SimResponse | Severed, delay_s: float
    ) -> None:
        try:
            await trio.sleep(delay_s)
        finally:
            call.reply(response)  # at shutdown too: the request was applied

    async def _ticker(self) -> None:
        # Wake just after each step is due: the millisecond clock truncates, so
        # waking exactly on time would often read one millisecond early.
        while True:
            due_ms = self.exchange.market.next_step_ms
            await trio.sleep(max(0.0, (due_ms - self.clock()) / 1000) + _TICK_SLACK_S)
            self.exchange.advance(self.clock())

    def _refuse_waiting(self) -> None:
        """Answer requests still queued at shutdown, so no client waits forever."""
        while True:
            try:
                call = self.inbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            call.reply(_CLOSED)
        self.inbox.close()


@final
@attrs.frozen(kw_only=True, eq=False)
class SimHandle:
    """What :func:`open_sim` yields: the transport, the exchange, and test controls.

    Attributes:
        config: The simulator's configuration.
        exchange: The pure exchange, for assertions (read it, do not drive it).
        transport: Give it to ``httpx.AsyncClient(transport=..., base_url=...)``.
        base_url: The base URL clients should use with :attr:`transport`.
        stream_url: The user-data stream base URL to use with
            :attr:`stream_connector`: ``f"{stream_url}/private/ws/{listen_key}"``.
    """

    config: SimConfig
    exchange: SimulatedExchange
    transport: SimTransport
    base_url: str
    stream_url: str
    clock: Callable[[], int] = attrs.field(repr=False)
    _inbox: trio.MemorySendChannel[_Call] = attrs.field(repr=False, alias="inbox")
    _injector: FaultInjector = attrs.field(repr=False, alias="injector")
    _hub: UserStreamHub = attrs.field(repr=False, alias="hub")

    def now_ms(self) -> int:
        """The server clock (epoch milliseconds, offset and fault skew included)."""
        return self.clock()

    @property
    def faults(self) -> FaultPlan | None:
        """The fault plan in force (``None``: the exchange behaves)."""
        return self._injector.plan

    def set_faults(self, plan: FaultPlan | None) -> None:
        """Replace the fault plan; ``None`` heals the exchange.

        Step counts and the random streams start again with the new plan; the
        record of injected faults keeps growing. Removing a positive
        ``skew_ms`` holds the exchange's clock still until real time catches
        up, because exchange time never runs backwards. Stream events held
        back by a reorder fault go out at once; healing (``None``) also ends
        :meth:`silence_streams` for connections opened from now on.
        """
        self._injector.set_plan(plan)
        self._hub.on_plan(plan)

    def injected_faults(self) -> tuple[InjectedFault, ...]:
        """Every fault injected so far, oldest first."""
        return tuple(self._injector.injected)

    def stats(self) -> dict[str, object]:
        """The same dict as ``GET /sim/stats``, fault counters included."""
        return {**self.exchange.stats_json(), **self._injector.stats_json()}

    def ledger(self) -> dict[str, object]:
        """The same dict as ``GET /sim/ledger``."""
        return self.exchange.ledger_json()

    def set_price(self, symbol: str, price: Decimal | str | int) -> None:
        """Move ``symbol`` to ``price`` now; stops and resting orders react at once."""
        self.exchange.set_price(symbol, price, self.clock())

    def set_book(
        self,
        symbol: str,
        bids: list[tuple[Decimal, Decimal]],
        asks: list[tuple[Decimal, Decimal]],
    ) -> None:
        """Replace ``symbol``'s book with these (price, qty) levels until the next price push."""
        self.exchange.set_book(symbol, bids, asks, self.clock())

    def settle_funding(self, symbol: str, rate: Decimal | str) -> Decimal:
        """Apply one funding payment at ``rate`` to ``symbol``'s positions now.

        Each payment is also an ``ACCOUNT_UPDATE`` (reason ``FUNDING_FEE``) on
        the user-data stream.

        Returns:
            What the wallet gained in total (negative when it paid).

        Raises:
            SimError: -1121 if the symbol is not listed.
        """
        self.exchange.advance(self.clock())
        value = to_decimal(rate, field="rate")
        return self.exchange.ledger.settle_funding(symbol, value, self.exchange.now_ms)

    # -- the user-data stream -------------------------------------------------------

    @property
    def user_stream(self) -> UserStreamHub:
        """The stream hub (the loopback server serves its WebSockets from it)."""
        return self._hub

    @property
    def stream_connector(self) -> SimStreamConnector:
        """A :class:`~trio_fapi.protocol.stream_transport.StreamConnector` without sockets.

        Use it with URLs under :attr:`stream_url`; it runs on trio's virtual clock.
        """
        return SimStreamConnector(self._hub)

    def stream_statistics(self) -> UserStreamStatistics:
        """The stream hub's counters (connections, events, forced disconnects)."""
        return self._hub.statistics()

    def disconnect_streams(self) -> int:
        """Close every open stream connection now (an injected fault, recorded if one was open).

        Frames their readers had not taken are lost.

        Returns:
            How many connections were closed.
        """
        return self._hub.disconnect_all()

    def silence_streams(self, silent: bool = True) -> None:
        """Turn half-open silence on (an injected fault) or off.

        While on, open connections and those opened later get no events and
        their pings are never answered; turning it off (or healing the plan
        with ``set_faults(None)``) spares new connections only: one that went
        silent stays silent, as a dead peer does, until the client drops it.
        """
        self._hub.silence(silent)

    def expire_listen_keys(self, *, notify: bool = True) -> bool:
        """Expire the listen key now (an injected fault, recorded if one was active).

        Keep-alives then get -1125.

        Args:
            notify: Send ``listenKeyExpired`` to its open connections, as
                Binance does; ``False`` makes the key silently invalid (its
                connections just get no more events).

        Returns:
            Whether a key was active.
        """
        return self._hub.expire_keys(notify=notify)

    async def request(self, request: SimRequest) -> SimResponse:
        """Send one request through the actor, as a client would see it.

        Raises:
            httpx.ConnectError: The simulator has shut down, or a fault dropped
                the request.
            httpx.RemoteProtocolError: A fault lost the answer after the
                exchange applied the request.
        """
        return _unsevered(await self.deliver(request), None)

    async def deliver(self, request: SimRequest) -> SimResponse | Severed:
        """Send one request through the actor; what the wire should carry back.

        This is what the loopback server uses: it answers a response and
        closes the connection on :class:`~trio_fapi.sim.injector.Severed`.

        Raises:
            httpx.ConnectError: The simulator has shut down.
        """
        return await _deliver(self._inbox, _Call(request), None)


@asynccontextmanager
async def open_sim(
    config: SimConfig | None = None, *, faults: FaultPlan | None = None
) -> AsyncIterator[SimHandle]:
    """Run a simulated exchange for the duration of the ``async with`` block.

    The server clock is an :class:`~trio_fapi._time.AnchoredClock` (wall time at
    start, then trio's clock) plus ``config.server_time_offset_ms`` plus the
    fault plan's ``skew_ms``.

    Args:
        config: What to simulate; :func:`default_config` when omitted.
        faults: Faults to inject from the first request; change them later
            with :meth:`SimHandle.set_faults`.
    """
    cfg = config if config is not None else default_config()
    anchored = AnchoredClock()
    offset = cfg.server_time_offset_ms
    injector = FaultInjector(faults)

    def clock() -> int:
        return anchored() + offset + injector.skew_ms

    exchange = SimulatedExchange(cfg, start_ms=clock())
    hub = UserStreamHub(
        exchange=exchange,
        clock=clock,
        injector=injector,
        buffer_frames=cfg.stream_buffer_frames,
        max_age_s=cfg.stream_max_age_s,
    )
    send, receive = trio.open_memory_channel[_Call](SIM_INBOX_SIZE)
    actor = _SimActor(
        exchange=exchange,
        clock=clock,
        inbox=receive,
        injector=injector,
        streams=hub,
        latency_s=cfg.response_latency_s,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.run)
        await nursery.start(actor.run)
        handle = SimHandle(
            config=cfg,
            exchange=exchange,
            transport=SimTransport(send),
            base_url=SIM_BASE_URL,
            stream_url=SIM_STREAM_URL,
            clock=clock,
            inbox=send,
            injector=injector,
            hub=hub,
        )
        try:
            yield handle
        finally:
            nursery.cancel_scope.cancel()
