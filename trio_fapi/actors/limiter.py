"""The rate-limiter actor: admits requests only when every Binance window has room.

The rules (windows, lanes, per-strategy fair queues, pauses, adaptive limits,
backpressure) live in :class:`trio_fapi.protocol.admission.Admission`; this
module is the trio shell around them. The actor owns the policy object, reads
its inbox, answers every request exactly once through its one-shot slot, and
sleeps until the policy says something may have changed: a window resets, the
reserve is released, a pause or a deadline ends, the adaptive factor recovers.

Producers hold clones of the inbox's send side (:meth:`RateLimiter.sender`).
The user-facing calls of the original design (:meth:`get_status`,
:meth:`reset`, :meth:`wait_for_capacity`) use the actor's own handle.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any

import trio

from trio_fapi.protocol.adaptive import ADAPTIVE_PRESETS, AdaptiveMode, AdaptivePolicy
from trio_fapi.protocol.admission import (
    DEFAULT_BAN_S,
    Admission,
    LaneWaits,
    LimiterStatistics,
    WindowStatistics,
)
from trio_fapi.protocol.errors import DeadlineExceeded, EngineClosed, EngineError
from trio_fapi.protocol.filters import DEFAULT_RATE_LIMITS, RateLimit
from trio_fapi.protocol.messages import (
    AcquireWeight,
    Lane,
    LimiterCommand,
    ResetLimiter,
    SetRateLimits,
    SetShare,
    ThrottleObserved,
    UsageObserved,
    WeightGranted,
    WeightRefused,
)

from .reply import OneShot

__all__ = [
    "DEFAULT_BAN_S",
    "LIMITER_INBOX_SIZE",
    "LaneWaits",
    "LimiterStatistics",
    "RateLimiter",
    "WindowStatistics",
]

#: Buffer of the limiter's inbox. Producers block beyond it (back-pressure).
LIMITER_INBOX_SIZE = 256


class RateLimiter:
    """The scheduler in front of the REST pool.

    Args:
        clock_ms: Server time in epoch milliseconds (the synced clock), so the
            windows line up with the exchange's.
        rate_limits: The windows; exchangeInfo's replace them at start-up.
        reserve_fraction: Share of every window held for the priority lane.
        max_waiting: Queue bound over all lanes and strategies.
        max_waiting_per_strategy: Queue bound for one strategy, so one flood
            cannot fill the shared bound.
        edge_s: A grant this close to a window's end is also counted in the
            next window (the server may see it after the reset).
        release_s: In a window's last ``release_s`` the unused reserve opens
            to every lane.
        adaptive: ``"off"``, ``"aggressive"``, ``"conservative"`` or a policy.
        shares: Fair-queue weight per strategy (default 1).
    """

    def __init__(
        self,
        *,
        clock_ms: Callable[[], int],
        rate_limits: tuple[RateLimit, ...] = DEFAULT_RATE_LIMITS,
        reserve_fraction: float = 0.1,
        max_waiting: int = 10_000,
        max_waiting_per_strategy: int = 2_000,
        edge_s: float = 0.25,
        release_s: float = 1.0,
        adaptive: AdaptiveMode | AdaptivePolicy = "off",
        shares: Mapping[str, float] | None = None,
    ) -> None:
        self._clock_ms = clock_ms
        policy = ADAPTIVE_PRESETS[adaptive] if isinstance(adaptive, str) else adaptive
        self._rules = Admission(
            rate_limits,
            reserve_fraction=reserve_fraction,
            edge_s=edge_s,
            release_s=release_s,
            adaptive=policy,
            max_waiting=max_waiting,
            max_waiting_per_strategy=max_waiting_per_strategy,
            shares=shares,
        )
        self.adaptive_mode = adaptive if isinstance(adaptive, str) else "custom"
        self._send, self._inbox = trio.open_memory_channel[LimiterCommand](LIMITER_INBOX_SIZE)
        self._own = self._send.clone()
        self._wakeup = trio.Event()
        self._ids = itertools.count(1)

    # -- wiring -------------------------------------------------------------------------

    def sender(self) -> trio.MemorySendChannel[LimiterCommand]:
        """A new handle for producers (close it when done). Call before ``run``."""
        return self._send.clone()

    async def set_rate_limits(self, rate_limits: tuple[RateLimit, ...]) -> None:
        """Adopt the limits from exchangeInfo, keeping usage already counted."""
        await self._own.send(SetRateLimits(rate_limits=rate_limits))

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; waiting requests are refused on the way out."""
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._admit_loop)
                # Producers hold clones (see ``sender``); the original is closed so
                # the inbox ends when the last producer closes its handle.
                self._send.close()
                task_status.started()
                async with self._inbox:
                    async for msg in self._inbox:
                        self._on_message(msg)
                nursery.cancel_scope.cancel()
        finally:
            self._own.close()
            for msg in self._rules.drain():
                msg.reply_to.send(WeightRefused(request_id=msg.request_id, error=EngineClosed()))

    # -- requests ----------------------------------------------------------------------

    async def acquire(
        self,
        channel: trio.MemorySendChannel[LimiterCommand],
        *,
        request_id: int,
        weight: int,
        orders: int,
        lane: Lane,
        strategy: str,
        deadline: float,
        probe: bool = False,
    ) -> WeightGranted | WeightRefused:
        """Ask for admission through ``channel`` and wait for the answer."""
        slot: OneShot[WeightGranted | WeightRefused] = OneShot()
        msg = AcquireWeight(
            request_id=request_id,
            weight=weight,
            orders=orders,
            lane=lane,
            strategy=strategy,
            deadline=deadline,
            reply_to=slot,
            probe=probe,
        )
        start = trio.current_time()
        with trio.move_on_at(deadline):
            try:
                await channel.send(msg)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                return WeightRefused(request_id=request_id, error=EngineClosed())
            return await slot.wait()
        if slot.done:
            return await slot.wait()
        return WeightRefused(
            request_id=request_id, error=DeadlineExceeded(waited_s=trio.current_time() - start)
        )

    async def wait_for_capacity(
        self,
        *,
        weight: int = 1,
        orders: int = 0,
        lane: Lane = Lane.QUERY,
        strategy: str = "default",
        timeout_s: float = math.inf,
    ) -> bool:
        """Wait until a request of this size would be admitted; charge nothing.

        The wait takes its fair turn behind what ``strategy`` already queued, so
        a strategy can pace itself on the shared budget instead of queueing work
        it may no longer want when the budget comes back.

        Returns:
            True when there is room, False if ``timeout_s`` passed first or the
            limiter refused (a ban outlasting the timeout, shutdown).
        """
        answer = await self.acquire(
            self._own,
            request_id=next(self._ids),
            weight=weight,
            orders=orders,
            lane=lane,
            strategy=strategy,
            deadline=trio.current_time() + timeout_s,
            probe=True,
        )
        return isinstance(answer, WeightGranted)

    async def set_share(self, strategy: str, share: float) -> None:
        """Weight ``strategy`` in the fair queues (default 1; 2 gets twice the turns)."""
        await self._own.send(SetShare(strategy=strategy, share=share))

    async def reset(self) -> None:
        """Forget local usage estimates and adaptive penalties.

        Pauses and bans stay: they are the server's decisions. The next
        response's usage headers restore the estimates.
        """
        slot: OneShot[None] = OneShot()
        await self._own.send(ResetLimiter(reply_to=slot))
        await slot.wait()

    # -- actor internals -----------------------------------------------------------------

    def _on_message(self, msg: LimiterCommand) -> None:
        now = trio.current_time()
        match msg:
            case AcquireWeight():
                error = self._rules.submit(msg, now)
                if error is not None:
                    self._refuse(msg, error)
            case UsageObserved():
                self._rules.observe_usage(msg, self._clock_ms() / 1000)
            case ThrottleObserved():
                self._rules.observe_throttle(msg, now, self._clock_ms())
            case SetShare():
                self._rules.set_share(msg.strategy, msg.share)
            case SetRateLimits():
                self._rules.set_rate_limits(msg.rate_limits)
            case ResetLimiter():
                self._rules.reset()
                msg.reply_to.send(None)
        self._wakeup.set()

    @staticmethod
    def _refuse(msg: AcquireWeight, error: EngineError) -> None:
        msg.reply_to.send(WeightRefused(request_id=msg.request_id, error=error))

    async def _admit_loop(self) -> None:
        while True:
            self._wakeup = trio.Event()
            step = self._rules.step(trio.current_time(), self._clock_ms() / 1000)
            for msg, error in step.refused:
                self._refuse(msg, error)
            for msg, waited in step.granted:
                msg.reply_to.send(WeightGranted(request_id=msg.request_id, waited_s=waited))
            if step.wake_in_s is None:
                await self._wakeup.wait()
            else:
                with trio.move_on_after(step.wake_in_s):
                    await self._wakeup.wait()

    # -- observation ---------------------------------------------------------------------

    def statistics(self) -> LimiterStatistics:
        """Used and limit per window, queue depths, wait percentiles, pauses."""
        return self._rules.statistics(trio.current_time(), self._clock_ms() / 1000)

    def get_status(self) -> dict[str, Any]:
        """The statistics as plain JSON-ready data (the original notes' name)."""
        stats = self.statistics()
        return {
            "windows": {
                w.name: {
                    "used": w.used,
                    "limit": w.limit,
                    "effective_limit": w.effective_limit,
                    "reserve": w.reserve,
                    "resets_in_s": round(w.resets_in_s, 3),
                }
                for w in stats.windows
            },
            "waiting_by_lane": stats.waiting_by_lane,
            "waiting_by_strategy": stats.waiting_by_strategy,
            "wait_p99_s_by_lane": {lane: w.p99_s for lane, w in stats.waits_by_lane.items()},
            "granted": stats.granted,
            "refused": stats.refused,
            "throttles": stats.throttles_by_kind,
            "paused_for_s": stats.paused_for_s,
            "orders_paused_for_s": stats.orders_paused_for_s,
            "busy_paused_for_s": stats.busy_paused_for_s,
            "banned_for_s": stats.banned_for_s,
            "adaptive_mode": self.adaptive_mode,
            "adaptive_factor": stats.adaptive_factor,
        }
