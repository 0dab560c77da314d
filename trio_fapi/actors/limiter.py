"""The rate-limiter actor: admits requests only when every Binance window has room.

It models the windows as Binance counts them (fixed windows aligned to the
server's clock: IP weight per minute, account orders per 10 s and per minute),
charges each request its real weight from the endpoint catalogue, trusts the
server's usage headers over its own estimate, and pauses on 429 / 418.

Requests wait in lanes: PRIORITY (cancels, risk-reducing orders, heartbeats) is
served first and may use a reserved share of each window that the other lanes
may not touch; ORDER before QUERY. A lower lane still moves when the higher one
is blocked only on a window the lower one does not draw on (a full ORDERS
window does not stop a query). Every request gets exactly one answer: a grant,
or a refusal when its deadline passes, when the queue is full, or on shutdown.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable

import attrs
import trio

from trio_fapi.protocol.errors import DeadlineExceeded, EngineClosed, IpBanned, Overloaded
from trio_fapi.protocol.filters import DEFAULT_RATE_LIMITS, RateLimit
from trio_fapi.protocol.messages import (
    AcquireWeight,
    Lane,
    LimiterCommand,
    ThrottleObserved,
    UsageObserved,
    WeightGranted,
    WeightRefused,
)

from .reply import OneShot

__all__ = ["LIMITER_INBOX_SIZE", "LimiterStatistics", "RateLimiter", "WindowStatistics"]

#: Buffer of the limiter's inbox. Producers block beyond it (back-pressure).
LIMITER_INBOX_SIZE = 256
#: Ban length assumed for a 418 without Retry-After (Binance's minimum ban).
DEFAULT_BAN_S = 120.0


@attrs.frozen(kw_only=True)
class WindowStatistics:
    """One window's state."""

    name: str
    limit: int
    used: int
    resets_in_s: float


@attrs.frozen(kw_only=True)
class LimiterStatistics:
    """A snapshot of the limiter."""

    windows: tuple[WindowStatistics, ...]
    waiting_by_lane: dict[str, int]
    granted: int
    refused: int
    throttles_observed: int
    paused_for_s: float
    banned_for_s: float


class _Window:
    """One fixed window, aligned to epoch time like Binance's counters."""

    __slots__ = ("_next_used", "index", "kind", "length_s", "limit", "reserve", "used")

    def __init__(self, rate: RateLimit, reserve_fraction: float) -> None:
        self.kind = "weight" if rate.kind == "REQUEST_WEIGHT" else "orders"
        self.length_s = rate.window_s
        self.limit = rate.limit
        self.reserve = int(rate.limit * reserve_fraction)
        self.index = -1
        self.used = 0
        self._next_used = 0

    @property
    def name(self) -> str:
        unit = "s" if self.length_s < 60 else "m"
        n = int(self.length_s if self.length_s < 60 else self.length_s // 60)
        return f"{self.kind}_{n}{unit}"

    def roll(self, now_s: float) -> None:
        idx = int(now_s // self.length_s)
        if idx != self.index:
            carried = self._next_used if idx == self.index + 1 else 0
            self.index, self.used, self._next_used = idx, carried, 0

    def cost(self, weight: int, orders: int) -> int:
        return weight if self.kind == "weight" else orders

    def fits(self, cost: int, now_s: float, *, priority: bool) -> bool:
        self.roll(now_s)
        cap = self.limit if priority else self.limit - self.reserve
        return cost == 0 or self.used + cost <= cap

    def charge(self, cost: int, now_s: float, edge_s: float) -> None:
        self.used += cost
        # A request granted just before the boundary may be counted by the server
        # in the next window: count it in both (conservative).
        if self.remaining_s(now_s) < edge_s:
            self._next_used += cost

    def observe(self, used: int, now_s: float) -> None:
        self.roll(now_s)
        self.used = max(self.used, used)

    def remaining_s(self, now_s: float) -> float:
        return (self.index + 1) * self.length_s - now_s


class RateLimiter:
    """The scheduler in front of the REST pool."""

    def __init__(
        self,
        *,
        clock_ms: Callable[[], int],
        rate_limits: tuple[RateLimit, ...] = DEFAULT_RATE_LIMITS,
        reserve_fraction: float = 0.1,
        max_waiting: int = 10_000,
        edge_s: float = 0.25,
    ) -> None:
        self._clock_ms = clock_ms
        self._windows = [_Window(r, reserve_fraction) for r in rate_limits]
        self._lanes: dict[Lane, deque[tuple[AcquireWeight, float]]] = {
            lane: deque() for lane in Lane
        }
        self._max_waiting = max_waiting
        self._edge_s = edge_s
        self._send, self._inbox = trio.open_memory_channel[LimiterCommand](LIMITER_INBOX_SIZE)
        self._wakeup = trio.Event()
        self._granted = 0
        self._refused = 0
        self._throttles = 0
        self._paused_until = -math.inf  # trio time; all windows
        self._orders_paused_until = -math.inf
        self._banned_until = -math.inf

    # -- wiring -------------------------------------------------------------------------

    def sender(self) -> trio.MemorySendChannel[LimiterCommand]:
        """A new handle for producers (close it when done). Call before ``run``."""
        return self._send.clone()

    def set_rate_limits(self, rate_limits: tuple[RateLimit, ...]) -> None:
        """Adopt the limits from exchangeInfo, keeping usage already counted."""
        reserve = (
            self._windows[0].reserve / max(1, self._windows[0].limit) if self._windows else 0.1
        )
        old = {w.name: w for w in self._windows}
        fresh = [_Window(r, reserve) for r in rate_limits]
        for w in fresh:
            if w.name in old:
                w.index, w.used = old[w.name].index, old[w.name].used
        self._windows = fresh
        self._wakeup.set()

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
            for lane in self._lanes.values():
                while lane:
                    req, _ = lane.popleft()
                    self._refuse(req, EngineClosed())

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
        )
        start = trio.current_time()
        with trio.move_on_at(deadline):
            await channel.send(msg)
            return await slot.wait()
        if slot.done:
            return await slot.wait()
        return WeightRefused(
            request_id=request_id, error=DeadlineExceeded(waited_s=trio.current_time() - start)
        )

    # -- actor internals -----------------------------------------------------------------

    def _on_message(self, msg: LimiterCommand) -> None:
        now = trio.current_time()
        match msg:
            case AcquireWeight():
                waiting = sum(len(q) for q in self._lanes.values())
                if waiting >= self._max_waiting:
                    self._refuse(msg, Overloaded(queue="rate limiter"))
                else:
                    self._lanes[msg.lane].append((msg, now))
            case UsageObserved():
                now_s = self._clock_ms() / 1000
                for w in self._windows:
                    if w.kind == "weight" and msg.used_weight_1m is not None and w.length_s == 60:
                        w.observe(msg.used_weight_1m, now_s)
                    elif (
                        w.kind == "orders" and w.length_s == 10 and msg.order_count_10s is not None
                    ):
                        w.observe(msg.order_count_10s, now_s)
                    elif w.kind == "orders" and w.length_s == 60 and msg.order_count_1m is not None:
                        w.observe(msg.order_count_1m, now_s)
            case ThrottleObserved():
                self._throttles += 1
                self._on_throttle(msg, now)
        self._wakeup.set()

    def _on_throttle(self, msg: ThrottleObserved, now: float) -> None:
        now_s = self._clock_ms() / 1000
        retry = msg.retry_after_s or 0.0
        if msg.http_status == 418:
            self._banned_until = max(self._banned_until, now + (retry or DEFAULT_BAN_S))
            return
        affected = [w for w in self._windows if (w.kind == "orders") or not msg.orders_window]
        rest = max((w.remaining_s(now_s) for w in affected), default=0.0)
        until = now + max(retry, rest)
        if msg.orders_window:
            self._orders_paused_until = max(self._orders_paused_until, until)
        else:
            self._paused_until = max(self._paused_until, until)

    def _refuse(self, req: AcquireWeight, error: Exception) -> None:
        self._refused += 1
        req.reply_to.send(WeightRefused(request_id=req.request_id, error=error))  # type: ignore[arg-type]

    async def _admit_loop(self) -> None:
        while True:
            self._wakeup = trio.Event()
            wait = self._admit_ready()
            if wait is None:
                await self._wakeup.wait()
            else:
                with trio.move_on_after(max(wait, 0.0)):
                    await self._wakeup.wait()

    def _admit_ready(self) -> float | None:
        """Grant what fits now, refuse what expired; return how long to sleep."""
        now = trio.current_time()
        now_s = self._clock_ms() / 1000
        next_deadline = math.inf
        for lane in self._lanes.values():
            if any(req.deadline <= now for req, _ in lane):
                keep: deque[tuple[AcquireWeight, float]] = deque()
                for req, since in lane:
                    if req.deadline <= now:
                        self._refuse(req, DeadlineExceeded(waited_s=now - since))
                    else:
                        keep.append((req, since))
                lane.clear()
                lane.extend(keep)
            for req, _ in lane:
                next_deadline = min(next_deadline, req.deadline)
        waits: list[float] = [next_deadline - now] if next_deadline < math.inf else []
        if now < self._banned_until:
            for lane in self._lanes.values():
                while lane:
                    req, _ = lane.popleft()
                    self._refuse(
                        req,
                        IpBanned(
                            http_status=418,
                            code=-1003,
                            msg="IP banned; no requests until the ban ends",
                            retry_after=self._banned_until - now,
                        ),
                    )
            return None
        blocked: set[int] = set()
        for lane_id in Lane:
            queue = self._lanes[lane_id]
            priority = lane_id is Lane.PRIORITY
            while queue:
                req, since = queue[0]
                needs = {
                    i for i, w in enumerate(self._windows) if w.cost(req.weight, req.orders) > 0
                }
                if needs & blocked:
                    break
                paused = self._pause_left(now, req)
                if paused > 0:
                    waits.append(paused)
                    blocked |= needs
                    break
                full = [
                    i
                    for i in needs
                    if not self._windows[i].fits(
                        self._windows[i].cost(req.weight, req.orders), now_s, priority=priority
                    )
                ]
                if full:
                    waits.append(min(self._windows[i].remaining_s(now_s) for i in full))
                    blocked |= needs
                    break
                queue.popleft()
                for i in needs:
                    w = self._windows[i]
                    w.charge(w.cost(req.weight, req.orders), now_s, self._edge_s)
                self._granted += 1
                req.reply_to.send(WeightGranted(request_id=req.request_id, waited_s=now - since))
        return min(waits) if waits else None

    def _pause_left(self, now: float, req: AcquireWeight) -> float:
        left = self._paused_until - now
        if req.orders > 0:
            left = max(left, self._orders_paused_until - now)
        return left

    # -- observation ---------------------------------------------------------------------

    def statistics(self) -> LimiterStatistics:
        """Used and limit per window, queue depth per lane, pause state."""
        now = trio.current_time()
        now_s = self._clock_ms() / 1000
        windows = []
        for w in self._windows:
            w.roll(now_s)
            windows.append(
                WindowStatistics(
                    name=w.name, limit=w.limit, used=w.used, resets_in_s=w.remaining_s(now_s)
                )
            )
        return LimiterStatistics(
            windows=tuple(windows),
            waiting_by_lane={lane.name: len(q) for lane, q in self._lanes.items()},
            granted=self._granted,
            refused=self._refused,
            throttles_observed=self._throttles,
            paused_for_s=max(0.0, self._paused_until - now, self._orders_paused_until - now),
            banned_for_s=max(0.0, self._banned_until - now),
        )
