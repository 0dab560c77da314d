"""The user-data stream actor: one listen key, one connection, events routed.

REST answers only what is asked; fills, exchange-side cancels, liquidations and
balance changes arrive on the stream (binance-fapi.md section 8). This actor:

- creates the listen key (``POST``), keeps it alive (``PUT``) well inside its
  60-minute validity through the limiter's PRIORITY lane, so order traffic
  never starves it, and closes it (``DELETE``) on shutdown;
- connects (``<stream_url>/private/ws/<listenKey>``), pings on its own to
  find half-open sockets, rotates before the 24-hour cut, and reconnects
  with exponential back-off and seeded jitter;
- parses every frame into a typed event; a malformed frame or an unknown
  event type is counted and skipped, never fatal (row 42);
- routes order events to the symbol actors (which deduplicate and apply them
  by cumulative quantity), and publishes account events;
- after every (re)connect, reconciles every order by REST *before* it
  declares the stream trustworthy again (:class:`StreamResynced`), and
  publishes :class:`StreamGap` whenever the stream goes down. While it is
  down, the symbol actors poll on their fallback schedule (row 39-41).

The listen key is a secret (row 64): it is held as
:class:`~trio_fapi.protocol.credentials.Secret` and never logged.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping

import attrs
import trio

from trio_fapi.protocol.credentials import Secret
from trio_fapi.protocol.errors import EngineError, ExchangeError
from trio_fapi.protocol.messages import (
    AccountChanged,
    ExecutorEvent,
    MarginCallReceived,
    StreamGap,
    StreamResynced,
)
from trio_fapi.protocol.stream_schedule import (
    ListenKeyPolicy,
    ReconnectBackoff,
    StalenessWatchdog,
)
from trio_fapi.protocol.stream_transport import StreamClosed, StreamConnection, StreamConnector
from trio_fapi.protocol.user_events import (
    AccountUpdate,
    AlgoUpdate,
    ListenKeyExpired,
    MalformedEvent,
    MarginCall,
    OrderTradeUpdate,
    UnknownEvent,
    UserEvent,
    parse_user_event,
)

__all__ = ["StreamStatistics", "UserStream", "stream_url_for"]

log = logging.getLogger("trio_fapi.stream")

_KEY_NOT_FOUND = -1125
#: Pause before a failed keep-alive is tried again.
_KEEPALIVE_RETRY_S = 60.0

#: Calls one REST endpoint by catalogue name (PRIORITY lane); the JSON body.
Call = Callable[[str, Mapping[str, str]], Awaitable[object]]
#: Hands an order or algo event to its symbol actor; False if no actor owns it.
Route = Callable[[OrderTradeUpdate | AlgoUpdate], Awaitable[bool]]
#: Reconciles every order by REST; returns the fills it found.
Resync = Callable[[], Awaitable[int]]


def stream_url_for(base_url: str) -> str | None:
    """The stream host that goes with a REST base URL, when it is known.

    Production REST ``https://fapi.binance.com`` streams from
    ``wss://fstream.binance.com``; a loopback simulator serves both on one
    port. Other hosts need ``ExecutorConfig.stream_url``.
    """
    trimmed = base_url.rstrip("/")
    if trimmed == "https://fapi.binance.com":
        return "wss://fstream.binance.com"
    if trimmed.startswith("http://"):
        return "ws://" + trimmed.removeprefix("http://")
    return None


@attrs.frozen(kw_only=True)
class StreamStatistics:
    """Counters of the stream actor."""

    connected: bool
    connects: int
    gaps: int
    keepalives: int
    keys_created: int
    events: dict[str, int]
    unknown_events: int
    malformed: int
    external: int
    last_event_age_s: float | None
    resyncs: int
    recovered_fills: int


class _Reconnect(Exception):
    def __init__(self, reason: str, *, backoff: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.backoff = backoff


class UserStream:
    """Owned by the executor; runs in its nursery while the executor trades.

    Args:
        call: REST caller (the executor's, PRIORITY lane, no closed check).
        connector: Opens stream connections.
        stream_url: Host part, e.g. ``wss://fstream.binance.com``.
        route: Delivers order events to their symbol actors.
        resync: Reconciles every order by REST after a (re)connect.
        publish: The executor's event bus.
        set_connected: Tells the symbol actors which polling schedule to use.
        rng: Jitter source (seeded from the executor's seed).
    """

    def __init__(
        self,
        *,
        call: Call,
        connector: StreamConnector,
        stream_url: str,
        route: Route,
        resync: Resync,
        publish: Callable[[ExecutorEvent], None],
        set_connected: Callable[[bool], None],
        rng: random.Random,
        policy: ListenKeyPolicy | None = None,
        backoff: ReconnectBackoff | None = None,
        watchdog: StalenessWatchdog | None = None,
    ) -> None:
        self._call = call
        self._connector = connector
        self._url = stream_url.rstrip("/")
        self._route = route
        self._resync = resync
        self._publish = publish
        self._set_connected = set_connected
        self._rng = rng
        self._policy = policy or ListenKeyPolicy()
        self._backoff = backoff or ReconnectBackoff()
        self._watchdog = watchdog or StalenessWatchdog()
        self._key: Secret | None = None
        self._key_created_at = 0.0
        self._last_keepalive_at: float | None = None
        self._connected = False
        self._down_since: float | None = None
        self._last_frame_at = 0.0
        self._last_event_at: float | None = None
        self._resynced = trio.Event()
        self._counts: dict[str, int] = {}
        self._stats = {
            "connects": 0,
            "gaps": 0,
            "keepalives": 0,
            "keys": 0,
            "unknown": 0,
            "malformed": 0,
            "external": 0,
            "resyncs": 0,
            "recovered": 0,
        }

    @property
    def connected(self) -> bool:
        """Whether events are flowing and the last gap has been reconciled."""
        return self._connected

    async def wait_resynced(self) -> None:
        """Return once the stream is up and reconciled (for start-up and tests)."""
        await self._resynced.wait()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, serve, reconnect, until cancelled; then close the key."""
        task_status.started()
        attempt = 0
        try:
            while True:
                connected_for: float | None = None
                try:
                    # Every (re)connect starts with POST: it returns the active key
                    # (extended) or a new one, so a key that lapsed unseen while the
                    # stream was down is replaced, never retried forever (row 40).
                    await self._create_key()
                    started = trio.current_time()
                    try:
                        await self._serve()
                    finally:
                        connected_for = trio.current_time() - started
                except Exception as exc:
                    signal = _signal(exc)
                    if signal is None:
                        raise
                    self._went_down(_reason(signal))
                    if isinstance(signal, _Reconnect) and not signal.backoff:
                        continue
                attempt = self._backoff.next_attempt(attempt, connected_for_s=connected_for)
                await trio.sleep(self._backoff.delay(attempt, self._rng))
        finally:
            self._connected = False
            with trio.CancelScope(shield=True), trio.move_on_after(2.0):
                await self._close_key()

    # -- the key ------------------------------------------------------------------------

    async def _create_key(self) -> None:
        payload = await self._call("new_listen_key", {})
        key = payload.get("listenKey") if isinstance(payload, Mapping) else None
        if not isinstance(key, str) or not key:
            raise EngineError("POST /fapi/v1/listenKey answered without a listenKey")
        self._key = Secret(key)
        self._key_created_at = trio.current_time()
        self._last_keepalive_at = None
        self._stats["keys"] += 1

    async def _keepalive_loop(self, connection_started_at: float) -> None:
        while True:
            due = self._policy.next_due(
                trio.current_time(),
                key_created_at=self._key_created_at,
                connection_started_at=connection_started_at,
                last_keepalive_at=self._last_keepalive_at,
            )
            await trio.sleep_until(due.at)
            if due.action.value == "rotate":
                raise _Reconnect("rotating before the 24 h connection limit", backoff=False)
            if due.action.value == "renew":
                raise _Reconnect("the listen key lapsed", backoff=False)
            sent_at = trio.current_time()
            try:
                await self._call("keepalive_listen_key", {})
            except ExchangeError as exc:
                if exc.code == _KEY_NOT_FOUND:
                    raise _Reconnect("keep-alive: no such listen key") from None
                log.warning("listen key keep-alive failed: %s", exc)
                # Retried soon, well inside the key's validity; never in a hot loop
                # (a halted account refuses every keyed call at once).
                await trio.sleep(_KEEPALIVE_RETRY_S)
                continue
            self._last_keepalive_at = sent_at
            self._stats["keepalives"] += 1

    async def _close_key(self) -> None:
        if self._key is None:
            return
        try:
            await self._call("close_listen_key", {})
        except EngineError as exc:
            log.info("listen key close failed (it expires on its own): %s", exc)
        self._key = None

    # -- the connection -----------------------------------------------------------------

    async def _serve(self) -> None:
        assert self._key is not None
        url = f"{self._url}/private/ws/{self._key.reveal()}"
        async with self._connector.connect(url) as conn:
            started = trio.current_time()
            self._last_frame_at = started
            self._stats["connects"] += 1
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._keepalive_loop, started)
                nursery.start_soon(self._watchdog_loop, conn)
                nursery.start_soon(self._resync_after_connect)
                await self._read_loop(conn)

    async def _read_loop(self, conn: StreamConnection) -> None:
        while True:
            frame = await conn.get_message()
            self._last_frame_at = trio.current_time()
            try:
                event = parse_user_event(frame)
            except MalformedEvent as exc:
                self._stats["malformed"] += 1
                log.warning("skipped a malformed stream frame: %s", exc)
                continue
            await self._dispatch(event)

    async def _dispatch(self, event: UserEvent) -> None:
        name = type(event).__name__
        self._counts[name] = self._counts.get(name, 0) + 1
        self._last_event_at = trio.current_time()
        match event:
            case OrderTradeUpdate() | AlgoUpdate():
                if not await self._route(event):
                    self._stats["external"] += 1
            case AccountUpdate():
                self._publish(
                    AccountChanged(
                        reason=event.reason,
                        balances=tuple((b.asset, b.wallet_balance) for b in event.balances),
                        positions=tuple(
                            (p.symbol, p.position_side.value, p.amount) for p in event.positions
                        ),
                        event_time=event.event_time,
                    )
                )
            case MarginCall():
                self._publish(
                    MarginCallReceived(
                        symbols=tuple(p.symbol for p in event.positions),
                        event_time=event.event_time,
                    )
                )
            case ListenKeyExpired():
                if self._key is not None and not event.concerns(self._key):
                    return  # a replayed expiry of an earlier key (row 38)
                raise _Reconnect("listenKeyExpired", backoff=False)
            case UnknownEvent():
                self._stats["unknown"] += 1
            case _:
                pass  # TRADE_LITE, ACCOUNT_CONFIG_UPDATE: counted only

    async def _watchdog_loop(self, conn: StreamConnection) -> None:
        """Ping when the stream has been quiet; no pong in time means a dead socket."""
        while True:
            await trio.sleep_until(self._watchdog.ping_due_at(self._last_frame_at))
            if trio.current_time() < self._watchdog.ping_due_at(self._last_frame_at):
                continue  # a frame arrived meanwhile
            with trio.move_on_after(self._watchdog.pong_timeout_s) as scope:
                await conn.ping()
            if scope.cancelled_caught:
                raise _Reconnect("no pong: the connection is half-open")
            self._last_frame_at = trio.current_time()

    async def _resync_after_connect(self) -> None:
        gap_started = self._down_since
        recovered = await self._resync()
        self._stats["resyncs"] += 1
        self._stats["recovered"] += recovered
        self._connected = True
        self._down_since = None
        self._set_connected(True)
        self._resynced.set()
        gap = trio.current_time() - gap_started if gap_started is not None else 0.0
        self._publish(StreamResynced(gap_s=gap, recovered_fills=recovered))

    def _went_down(self, reason: str) -> None:
        log.warning("user-data stream down: %s", reason)
        if self._down_since is None:  # a new gap, not another failed reconnect
            self._down_since = trio.current_time()
            self._stats["gaps"] += 1
            self._publish(StreamGap(reason=reason, at=self._down_since))
        self._connected = False
        if self._resynced.is_set():
            self._resynced = trio.Event()
        self._set_connected(False)

    def statistics(self) -> StreamStatistics:
        """A snapshot of the counters."""
        return StreamStatistics(
            connected=self._connected,
            connects=self._stats["connects"],
            gaps=self._stats["gaps"],
            keepalives=self._stats["keepalives"],
            keys_created=self._stats["keys"],
            events=dict(self._counts),
            unknown_events=self._stats["unknown"],
            malformed=self._stats["malformed"],
            external=self._stats["external"],
            last_event_age_s=(
                trio.current_time() - self._last_event_at
                if self._last_event_at is not None
                else None
            ),
            resyncs=self._stats["resyncs"],
            recovered_fills=self._stats["recovered"],
        )


def _signal(exc: BaseException) -> _Reconnect | StreamClosed | EngineError | None:
    """The reason a connection ended, if that is all ``exc`` (or its group) holds.

    Anything else (a bug) is not a connection problem and must propagate.
    """
    expected = (_Reconnect, StreamClosed, EngineError)
    if isinstance(exc, expected):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        matched, rest = exc.split(expected)
        if rest is None and matched is not None:
            leaves = list(_leaves(matched))
            for kind in expected:  # the most telling reason first
                for leaf in leaves:
                    if isinstance(leaf, kind):
                        return leaf
    return None


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


def _reason(exc: BaseException) -> str:
    if isinstance(exc, _Reconnect):
        return exc.reason
    if isinstance(exc, StreamClosed):
        return exc.reason
    return f"{type(exc).__name__}: {exc}"
