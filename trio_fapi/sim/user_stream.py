"""The simulated exchange's user-data stream: one hub, every open connection.

The hub listens to the ledger and the algo book (their synchronous observer
hooks) and turns each change into Binance's events: ``ORDER_TRADE_UPDATE``
for every order change, then ``ACCOUNT_UPDATE`` (reason ``ORDER``) after each
fill, ``ACCOUNT_UPDATE`` (``FUNDING_FEE``) after a funding payment,
``ALGO_UPDATE`` for conditional orders, and ``listenKeyExpired`` when the key
of an open connection runs out. Each event goes to every connection whose key
is valid, in order, stamped with an ``E`` that strictly increases.

Rules it enforces (binance-fapi.md 8.1, faults.md rows 37-41):

- connecting needs the account's valid key; ``DELETE /fapi/v1/listenKey``
  closes the key's connections; when the key expires (60 minutes after the
  last keep-alive, on the exchange's clock) each of its open connections gets
  ``listenKeyExpired`` and then nothing more, while it stays open;
- a connection whose reader falls ``SimConfig.stream_buffer_frames`` frames
  behind is dropped, and one older than ``SimConfig.stream_max_age_s`` is
  closed: the exchange never waits for a reader;
- the fault plan's ``p_event_*`` draws drop, duplicate, hold back (reorder) or
  delay single events per connection; :meth:`UserStreamHub.disconnect_all`,
  :meth:`~UserStreamHub.silence` and :meth:`~UserStreamHub.expire_keys` are the
  scripted stream faults. Every injected one is recorded with the REST faults.

The hub runs one task (:meth:`UserStreamHub.run`) that wakes for the next key
expiry or age limit, so both happen at their exact virtual instant. Nothing
here ever logs or raises the listen key.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import assert_never, final

import attrs
import trio

from trio_fapi.protocol.stream_transport import StreamClosed

from .algo import AlgoUpdate
from .api import SimulatedExchange
from .faults import FaultKind, FaultPlan
from .injector import FaultInjector
from .records import FundingSettled, LedgerEvent, OrderChanged
from .stream_events import (
    StreamEvent,
    algo_update,
    fill_account_update,
    funding_account_update,
    listen_key_expired,
    order_trade_update,
)
from .stream_session import SessionState, StreamSession

__all__ = ["UserStreamHub", "UserStreamStatistics"]

_REFUSED = "handshake refused: unknown or expired listen key"
_SLOW = "slow reader: too many frames waiting"
_AGED = "connection reached its maximum age"
_DELETED = "listen key deleted"
_DISCONNECTED = "disconnected by the server (injected fault)"
_CLIENT = "closed by the client"
_SHUTDOWN = "the simulated exchange shut down"


@final
@attrs.frozen(kw_only=True)
class UserStreamStatistics:
    """A snapshot of the hub's counters.

    Attributes:
        open_connections: Connections open now (silent and expired ones included).
        connections_opened: Connections ever accepted.
        events_published: Events produced while at least one connection listened.
        frames_queued: Frames queued for readers, over all connections.
        slow_reader_disconnects: Connections dropped for a full buffer.
        age_disconnects: Connections closed at the age limit.
    """

    open_connections: int
    connections_opened: int
    events_published: int
    frames_queued: int
    slow_reader_disconnects: int
    age_disconnects: int


@attrs.define(eq=False, repr=False)
class UserStreamHub:
    """Every stream connection of one simulated exchange, and the events they get.

    Args:
        exchange: The exchange whose ledger, algo book and listen key it serves.
        clock: The exchange's clock (epoch ms, skew included).
        injector: The fault plan's run state (per-event draws and the record).
        buffer_frames: Frames a connection may have waiting for its reader.
        max_age_s: trio seconds a connection may live.
    """

    exchange: SimulatedExchange
    clock: Callable[[], int]
    injector: FaultInjector
    buffer_frames: int
    max_age_s: float
    _sessions: dict[int, StreamSession] = attrs.field(init=False, factory=dict)
    _next_id: int = attrs.field(init=False, default=1)
    _last_e: int = attrs.field(init=False, default=0)
    _silenced: bool = attrs.field(init=False, default=False)
    _closed: bool = attrs.field(init=False, default=False)
    _subscribed: bool = attrs.field(init=False, default=False)
    _rearm: trio.Event = attrs.field(init=False, factory=trio.Event)
    _opened: int = attrs.field(init=False, default=0)
    _published: int = attrs.field(init=False, default=0)
    _queued: int = attrs.field(init=False, default=0)
    _slow: int = attrs.field(init=False, default=0)
    _aged: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        self.exchange.listen_keys.on_close.append(self._on_key_closed)

    def __repr__(self) -> str:
        return f"<UserStreamHub open_connections={len(self._sessions)}>"

    def now_ms(self) -> int:
        """The exchange's now (its clock never runs backwards)."""
        return max(self.clock(), self.exchange.now_ms)

    def statistics(self) -> UserStreamStatistics:
        """The hub's counters now."""
        return UserStreamStatistics(
            open_connections=len(self._sessions),
            connections_opened=self._opened,
            events_published=self._published,
            frames_queued=self._queued,
            slow_reader_disconnects=self._slow,
            age_disconnects=self._aged,
        )

    # -- connections --------------------------------------------------------------

    def open(self, key: str | None) -> StreamSession:
        """Accept a connection for ``key``.

        Raises:
            StreamClosed: The key is missing, unknown or expired, or the
                exchange has shut down (the reason never holds the key).
        """
        if self._closed:
            raise StreamClosed(_SHUTDOWN)
        if key is None or not self.exchange.listen_keys.is_valid(key, self.now_ms()):
            raise StreamClosed(_REFUSED)
        session = StreamSession(
            session_id=self._next_id,
            key=key,
            opened_s=trio.current_time(),
            capacity=self.buffer_frames,
        )
        self._next_id += 1
        self._opened += 1
        if self._silenced:
            session.silence()
        self._sessions[session.session_id] = session
        self._subscribe()
        self._rearm.set()
        return session

    def release(self, session: StreamSession) -> None:
        """The client closed ``session`` (or went away)."""
        self._drop(session, _CLIENT)

    def _drop(self, session: StreamSession, reason: str) -> None:
        session.close(reason)
        self._sessions.pop(session.session_id, None)
        if self._subscribed and not self._sessions:
            self.exchange.ledger.observers.remove(self._on_ledger)
            self.exchange.algos.observers.remove(self._on_algo)
            self._subscribed = False

    def _subscribe(self) -> None:
        # Observed only while someone listens: the ledger snapshots every
        # change for its observers, which an unwatched exchange need not pay.
        if not self._subscribed:
            self.exchange.ledger.observers.append(self._on_ledger)
            self.exchange.algos.observers.append(self._on_algo)
            self._subscribed = True

    def close(self) -> None:
        """Shut the hub: every connection ends and none can open."""
        self._closed = True
        for session in list(self._sessions.values()):
            self._drop(session, _SHUTDOWN)

    # -- events -------------------------------------------------------------------

    def _on_ledger(self, event: LedgerEvent) -> None:
        ledger = self.exchange.ledger
        match event:
            case OrderChanged():
                self._publish(order_trade_update(event))
                if event.fill is not None:
                    self._publish(fill_account_update(ledger, event.fill))
            case FundingSettled():
                self._publish(funding_account_update(ledger, event))
            case _:
                assert_never(event)

    def _on_algo(self, update: AlgoUpdate) -> None:
        self._publish(algo_update(update))

    def _on_key_closed(self, key: str) -> None:
        for session in list(self._sessions.values()):
            if session.key == key:
                self._drop(session, _DELETED)

    def _stamp(self, now_ms: int) -> int:
        self._last_e = max(now_ms, self._last_e + 1)
        return self._last_e

    def _publish(self, event: StreamEvent) -> None:
        now_ms = self.now_ms()
        self._check_keys(now_ms, notify=True)
        targets = [s for s in self._sessions.values() if s.receiving]
        if not targets:
            return
        self._published += 1
        frame = event.frame(self._stamp(now_ms))
        now_s = trio.current_time()
        for session in targets:
            self._deliver(session, frame, event, now_ms, now_s)

    def _deliver(
        self, session: StreamSession, frame: str, event: StreamEvent, now_ms: int, now_s: float
    ) -> None:
        """One event to one connection, through the plan's per-event draw."""
        kind = self.injector.draw_event()
        if kind is FaultKind.EVENT_REORDER and session.held is not None:
            kind = None  # already holding one back: this one simply goes first
        if kind is not None:
            self.injector.record_stream(
                kind,
                now_ms,
                now_s,
                event_type=event.event_type,
                symbol=event.symbol,
                client_order_id=event.client_id,
                connection_id=session.session_id,
            )
        if kind is FaultKind.EVENT_DROP:
            return
        if kind is FaultKind.EVENT_REORDER:
            session.held = frame
            return
        delay_s = 0.0
        if kind is FaultKind.EVENT_DELAY:
            plan = self.injector.plan
            assert plan is not None  # only a plan draws a fault
            delay_s = plan.event_delay_s
        frames = [frame, frame] if kind is FaultKind.EVENT_DUPLICATE else [frame]
        if session.held is not None:
            frames.append(session.held)
            session.held = None
        for one in frames:
            if not self._push(session, one, now_s + delay_s):
                return

    def _push(self, session: StreamSession, frame: str, due_s: float) -> bool:
        if session.push(frame, due_s):
            self._queued += 1
            return True
        self._slow += 1
        self._drop(session, _SLOW)
        return False

    def _check_keys(self, now_ms: int, *, notify: bool) -> None:
        """Tell open connections whose key is no longer valid, then send them nothing more."""
        keys = self.exchange.listen_keys
        for session in list(self._sessions.values()):
            if session.state is not SessionState.OPEN or keys.is_valid(session.key, now_ms):
                continue
            if notify:
                now_s = trio.current_time()
                frames = [] if session.held is None else [session.held]
                frames.append(listen_key_expired(session.key).frame(self._stamp(now_ms)))
                session.held = None
                if not all(self._push(session, f, now_s) for f in frames):
                    continue
            session.expire()

    # -- timers -------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Expire keys and close old connections on time, until cancelled; then close all."""
        try:
            task_status.started()
            while True:
                self._rearm = trio.Event()
                self._check_timers()
                with trio.move_on_after(self._next_wait_s()):
                    await self._rearm.wait()
        finally:
            self.close()

    def _check_timers(self) -> None:
        self._check_keys(self.now_ms(), notify=True)
        now_s = trio.current_time()
        for session in list(self._sessions.values()):
            if now_s >= session.opened_s + self.max_age_s:
                self._aged += 1
                self._drop(session, _AGED)

    def _next_wait_s(self) -> float:
        keys = self.exchange.listen_keys
        now_ms = self.now_ms()
        now_s = trio.current_time()
        wait = math.inf
        for session in self._sessions.values():
            wait = min(wait, session.opened_s + self.max_age_s - now_s)
            if session.state is SessionState.OPEN and session.key == keys.key:
                wait = min(wait, (keys.expires_ms - now_ms) / 1000)
        return max(0.0, wait)

    # -- scripted faults ----------------------------------------------------------

    def disconnect_all(self) -> int:
        """Close every open connection now (recorded as one fault, if one was open).

        Returns:
            How many connections were closed.
        """
        sessions = list(self._sessions.values())
        for session in sessions:
            self._drop(session, _DISCONNECTED)
        if sessions:
            self._record(FaultKind.STREAM_DISCONNECT)
        return len(sessions)

    def silence(self, silent: bool) -> None:
        """Turn half-open silence on (recorded) or off.

        Connections open when it turns on, and those opened while it is on,
        get no events and no pongs from then on; turning it off (or healing
        the plan) spares new connections only, because a dead peer stays dead.
        """
        self._silenced = silent
        if silent:
            for session in self._sessions.values():
                session.silence()
            self._record(FaultKind.STREAM_SILENCE)

    def expire_keys(self, *, notify: bool = True) -> bool:
        """Expire the listen key now (recorded, if one was active): keep-alives then get -1125.

        Args:
            notify: Send ``listenKeyExpired`` to its open connections (as
                Binance does); ``False`` leaves them silently without events.

        Returns:
            Whether a key was active.
        """
        now_ms = self.now_ms()
        expired = self.exchange.listen_keys.expire(now_ms)
        if expired:
            self._record(FaultKind.KEY_EXPIRE)
        self._check_keys(now_ms, notify=notify)
        return expired

    def on_plan(self, plan: FaultPlan | None) -> None:
        """A new fault plan: held-back events go out now; healing ends silence."""
        now_s = trio.current_time()
        for session in list(self._sessions.values()):
            held, session.held = session.held, None
            if held is not None and session.receiving:
                self._push(session, held, now_s)
        if plan is None:
            self._silenced = False
        self._rearm.set()

    def _record(self, kind: FaultKind) -> None:
        self.injector.record_stream(kind, self.now_ms(), trio.current_time())
