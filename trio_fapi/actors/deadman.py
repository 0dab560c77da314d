"""The dead-man switch: the exchange cancels our orders if this process stops.

``POST /fapi/v1/countdownCancelAll`` with ``symbol`` and ``countdownTime`` (ms)
starts a countdown on Binance; when it reaches zero, every open order of the
account on that symbol is canceled. Sending it again restarts the countdown,
and ``countdownTime=0`` disarms it. Sent as a heartbeat, it turns "the process
hung, crashed or lost its network" into "the exchange canceled its orders",
instead of orders resting unattended.

The switch belongs to the engine, not to strategies, because the countdown
acts on the whole symbol (peers.md, design point 5). It keeps one heartbeat per
symbol that has live orders:

- armed when the symbol gets its first live order (:meth:`DeadManSwitch.set_live`);
- refreshed every ``refresh_s``, measured from the start of the previous
  heartbeat, so latency never stretches the cadence; ``refresh_s`` is well inside
  the countdown, so a few lost heartbeats are survivable;
- a failed heartbeat is retried after ``retry_s`` and counted. If heartbeats
  keep failing until a full countdown has passed since the start of the last
  one that succeeded, the exchange may have canceled everything on the symbol:
  that is logged as an error, counted, and reported through ``on_lapse`` so the
  owner can reconcile the symbol;
- disarmed when the symbol has had no live orders until its next heartbeat
  would have been due (a strategy that requotes goes flat for moments, and
  disarming and re-arming each time would cost 20 weight for nothing; the
  countdown outlasts the wait), and at once on clean shutdown
  (:meth:`DeadManSwitch.disarm_all`).

A crash or a hard cancellation deliberately leaves the countdowns armed: that
is the case the switch exists for.

Heartbeats go through an injected ``send`` callable (in the engine: the
limiter's PRIORITY lane, which cancels and heartbeats share), so the switch is
tested against a fake on trio's virtual clock and against the simulator.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import final

import attrs
import trio

from trio_fapi.protocol.errors import EngineError
from trio_fapi.protocol.ids import Symbol

__all__ = [
    "CountdownLapsed",
    "DeadManStatistics",
    "DeadManSwitch",
    "HeartbeatStatistics",
    "SendCountdown",
]

log = logging.getLogger("trio_fapi.deadman")

#: Sends ``countdownCancelAll(symbol, countdown_ms)``; raises ``EngineError`` on failure.
SendCountdown = Callable[[Symbol, int], Awaitable[None]]


@final
@attrs.frozen(kw_only=True)
class CountdownLapsed:
    """Heartbeats failed for a whole countdown: the exchange may have canceled everything.

    Attributes:
        symbol: The symbol whose orders may be gone.
        last_ok_at: Trio time at which the last successful heartbeat was sent.
        detected_at: Trio time of the failure that made it certain.
    """

    symbol: Symbol
    last_ok_at: float
    detected_at: float


@attrs.frozen(kw_only=True)
class HeartbeatStatistics:
    """One symbol's heartbeat.

    Attributes:
        symbol: The symbol.
        live: Whether the owner says it has live orders.
        armed: Whether a countdown may be running on the exchange (an arming
            call was attempted and no disarm has succeeded since).
        heartbeats: Successful arming or refreshing calls.
        failures: Failed calls (heartbeats and disarms).
        consecutive_failures: Failed calls since the last success.
        last_ok_at: Trio time at which the last successful heartbeat was sent.
        lapsed: Heartbeats have failed for a whole countdown since ``last_ok_at``.
    """

    symbol: str
    live: bool
    armed: bool
    heartbeats: int
    failures: int
    consecutive_failures: int
    last_ok_at: float | None
    lapsed: bool


@attrs.frozen(kw_only=True)
class DeadManStatistics:
    """A snapshot of the switch.

    Attributes:
        countdown_ms: The countdown each heartbeat sets.
        refresh_s: The heartbeat period.
        symbols: Every symbol the switch has seen, sorted.
        heartbeats: Successful heartbeats, all symbols.
        disarms: Successful disarms, all symbols.
        failures: Failed calls, all symbols.
        lapses: Times a symbol's heartbeats failed for a whole countdown.
        ignored: ``set_live(..., True)`` calls refused after :meth:`DeadManSwitch.disarm_all`.
        closed: :meth:`DeadManSwitch.disarm_all` has run.
    """

    countdown_ms: int
    refresh_s: float
    symbols: tuple[HeartbeatStatistics, ...]
    heartbeats: int
    disarms: int
    failures: int
    lapses: int
    ignored: int
    closed: bool


@attrs.define(eq=False)
class _Beat:
    """The mutable state of one symbol's heartbeat (owned by the switch)."""

    symbol: Symbol
    live: bool = False
    armed: bool = False
    running: bool = False
    changed: trio.Event = attrs.field(factory=trio.Event)
    heartbeats: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    disarm_tries: int = 0
    last_ok_at: float | None = None
    lapsed: bool = False
    #: When the next heartbeat is due (trio time); None before the first one.
    next_at: float | None = None


class DeadManSwitch:
    """One ``countdownCancelAll`` heartbeat per symbol with live orders.

    Args:
        send: Sends one ``countdownCancelAll``; raises ``EngineError`` on failure.
        countdown_ms: The countdown each heartbeat sets (Binance cancels after it).
        refresh_s: Heartbeat period; must be shorter than the countdown.
        retry_s: Wait before retrying a failed call.
        send_timeout_s: A call with no answer by then counts as failed.
        disarm_attempts: Tries per symbol during :meth:`disarm_all`.
        on_lapse: Called (without awaiting; it must not block) when a symbol's
            heartbeats have failed for a whole countdown.

    Raises:
        ValueError: A duration or count out of range, or ``refresh_s`` not
            shorter than the countdown.
    """

    def __init__(
        self,
        *,
        send: SendCountdown,
        countdown_ms: int = 60_000,
        refresh_s: float = 15.0,
        retry_s: float = 1.0,
        send_timeout_s: float = 10.0,
        disarm_attempts: int = 3,
        on_lapse: Callable[[CountdownLapsed], None] | None = None,
    ) -> None:
        if isinstance(countdown_ms, bool) or not isinstance(countdown_ms, int) or countdown_ms <= 0:
            raise ValueError("countdown_ms must be a positive int")
        for name, value in (
            ("refresh_s", refresh_s),
            ("retry_s", retry_s),
            ("send_timeout_s", send_timeout_s),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, not {value!r}")
        if refresh_s >= countdown_ms / 1000:
            raise ValueError("refresh_s must be shorter than the countdown")
        if disarm_attempts < 1:
            raise ValueError("disarm_attempts must be at least 1")
        self._send = send
        self._countdown_ms = countdown_ms
        self._countdown_s = countdown_ms / 1000
        self._refresh_s = refresh_s
        self._retry_s = retry_s
        self._send_timeout_s = send_timeout_s
        self._disarm_attempts = disarm_attempts
        self._on_lapse = on_lapse
        self._beats: dict[Symbol, _Beat] = {}
        self._nursery: trio.Nursery | None = None
        self._closing = False
        self._closed = trio.Event()
        self._loop_exited = trio.Event()
        self._disarms = 0
        self._lapses = 0
        self._ignored = 0

    # -- the owner's side -----------------------------------------------------------------

    def set_live(self, symbol: Symbol, live: bool) -> None:
        """Say whether ``symbol`` has live orders. Never blocks; repeating a value is free.

        ``True`` arms the symbol's heartbeat at once if it is not running.
        ``False`` disarms it when its next heartbeat would have been due; if
        orders come back before then, nothing is sent. After :meth:`disarm_all`,
        ``True`` is ignored (and counted): the engine is shutting down.
        """
        if live and self._closing:
            self._ignored += 1
            log.warning("dead-man switch closed; not arming %s", symbol)
            return
        beat = self._beats.get(symbol)
        if beat is None:
            if not live:
                return
            beat = self._beats[symbol] = _Beat(symbol)
        if beat.live == live:
            return
        beat.live = live
        beat.changed.set()
        self._ensure_loop(beat)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the heartbeats until :meth:`disarm_all` has finished.

        If it is cancelled instead, countdowns stay armed and the exchange will
        cancel the symbols' orders when they run out: that is the point.
        """
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for beat in self._beats.values():
                self._ensure_loop(beat)
            task_status.started()
            await self._closed.wait()
        self._nursery = None

    async def disarm_all(self) -> tuple[Symbol, ...]:
        """Disarm every symbol and stop the switch (clean shutdown).

        Each symbol gets up to ``disarm_attempts`` tries. Call it after the
        order actors have stopped, so nothing arms a symbol again.

        Returns:
            The symbols whose countdown may still be armed (empty on success).
        """
        self._closing = True
        for beat in self._beats.values():
            beat.disarm_tries = 0
            beat.live = False
            beat.changed.set()  # also ends a linger: disarm now, not at the next beat
        if self._nursery is not None:
            while any(beat.running for beat in self._beats.values()):
                await self._loop_exited.wait()
        self._closed.set()
        left = tuple(sorted((b.symbol for b in self._beats.values() if b.armed), key=str))
        if left:
            log.error("dead-man switch may still be armed for %s", ", ".join(map(str, left)))
        return left

    def statistics(self) -> DeadManStatistics:
        """Per-symbol heartbeats and totals."""
        symbols = tuple(
            HeartbeatStatistics(
                symbol=b.symbol.value,
                live=b.live,
                armed=b.armed,
                heartbeats=b.heartbeats,
                failures=b.failures,
                consecutive_failures=b.consecutive_failures,
                last_ok_at=b.last_ok_at,
                lapsed=b.lapsed,
            )
            for b in sorted(self._beats.values(), key=lambda b: b.symbol.value)
        )
        return DeadManStatistics(
            countdown_ms=self._countdown_ms,
            refresh_s=self._refresh_s,
            symbols=symbols,
            # A symbol's beat is never forgotten, so its counters add up to the totals.
            heartbeats=sum(s.heartbeats for s in symbols),
            disarms=self._disarms,
            failures=sum(s.failures for s in symbols),
            lapses=self._lapses,
            ignored=self._ignored,
            closed=self._closed.is_set(),
        )

    # -- the heartbeat loops ----------------------------------------------------------------

    def _ensure_loop(self, beat: _Beat) -> None:
        if self._nursery is None or beat.running or not (beat.live or beat.armed):
            return
        beat.running = True
        beat.disarm_tries = 0
        self._nursery.start_soon(self._beat_loop, beat)

    async def _beat_loop(self, beat: _Beat) -> None:
        """Drive one symbol until it is neither live nor armed."""
        try:
            while beat.live or beat.armed:
                beat.changed = trio.Event()  # a change from here on ends the wait below
                if beat.live:
                    if beat.next_at is None or trio.current_time() >= beat.next_at:
                        beat.next_at = await self._heartbeat(beat)
                    wake_at = beat.next_at
                elif (
                    not self._closing
                    and beat.next_at is not None
                    and trio.current_time() < beat.next_at
                ):
                    # Linger until the next heartbeat would be due: a quoting
                    # strategy goes flat between quotes, and the countdown
                    # outlives this wait, so disarming and re-arming every
                    # time would only spend weight (10 per call).
                    wake_at = beat.next_at
                elif await self._call(beat, 0):
                    beat.armed = False
                    beat.next_at = None
                    self._disarms += 1
                    continue
                else:
                    beat.disarm_tries += 1
                    if self._closing and beat.disarm_tries >= self._disarm_attempts:
                        return
                    wake_at = trio.current_time() + self._retry_s
                with trio.move_on_at(wake_at):
                    await beat.changed.wait()
        finally:
            beat.running = False
            exited, self._loop_exited = self._loop_exited, trio.Event()
            exited.set()

    async def _heartbeat(self, beat: _Beat) -> float:
        """Arm or refresh the countdown; returns when the next call is due."""
        started = trio.current_time()
        beat.armed = True  # from the first attempt on, it may be armed
        if await self._call(beat, self._countdown_ms):
            beat.heartbeats += 1
            beat.last_ok_at = started
            beat.lapsed = False
            return started + self._refresh_s
        self._check_lapse(beat)
        return trio.current_time() + self._retry_s

    async def _call(self, beat: _Beat, countdown_ms: int) -> bool:
        with trio.move_on_after(self._send_timeout_s):
            try:
                await self._send(beat.symbol, countdown_ms)
            except EngineError as exc:
                self._failed(beat, str(exc))
                return False
            beat.consecutive_failures = 0
            return True
        self._failed(beat, f"no answer within {self._send_timeout_s:g}s")
        return False

    def _failed(self, beat: _Beat, why: str) -> None:
        beat.failures += 1
        beat.consecutive_failures += 1
        if beat.consecutive_failures == 1:
            log.warning("countdownCancelAll for %s failed: %s", beat.symbol, why)

    def _check_lapse(self, beat: _Beat) -> None:
        if beat.lapsed or beat.last_ok_at is None:
            return
        now = trio.current_time()
        if now - beat.last_ok_at < self._countdown_s:
            return
        beat.lapsed = True
        self._lapses += 1
        log.error(
            "dead-man heartbeat for %s failing for %.1fs (countdown %.1fs):"
            " the exchange may have canceled every order on it",
            beat.symbol,
            now - beat.last_ok_at,
            self._countdown_s,
        )
        if self._on_lapse is not None:
            self._on_lapse(
                CountdownLapsed(symbol=beat.symbol, last_ok_at=beat.last_ok_at, detected_at=now)
            )
