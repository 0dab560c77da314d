"""The rate limiter's rules: who may send now, who waits, who is refused.

This is the whole scheduling policy of :class:`trio_fapi.actors.limiter.RateLimiter`
without the actor around it, so it can be driven by a property test at
thousands of virtual instants per second. The actor passes the time in, sends
the answers out and sleeps until :meth:`Admission.step` says to look again.

The policy, in order:

1. **Bans and pauses.** A 418 stops everything until the ban ends; requests
   whose deadline comes first are refused at once with the ban. A 429 or
   -1003 pauses every request, -1015 the requests that count as orders, and a
   503 -1008 new orders outside the priority lane (cancels and risk-reducing
   orders are exempt), each for ``max(Retry-After, rest of the window)``. A
   later, shorter Retry-After never shortens a pause.
2. **Lanes.** PRIORITY before ORDER before QUERY. A lower lane still moves when
   a higher one is blocked only on windows it does not draw on (a full ORDERS
   window does not stop a query).
3. **Fairness inside a lane.** Each strategy is a flow in a weighted
   :class:`FairQueue`; the lane serves the lowest start tag, and a request that
   does not fit blocks its lane (no overtaking, so big requests cannot starve).
4. **Windows.** Every window a request draws on must have room under its cap:
   the adaptive factor times the limit, minus the priority reserve for the other
   lanes except in the window's last ``release_s``.
5. **Backpressure.** Over ``max_waiting`` queued, or ``max_waiting_per_strategy``
   for one strategy, a request is refused with :class:`Overloaded` before it
   queues; a request still waiting at its deadline is refused with
   :class:`DeadlineExceeded`. Every request gets exactly one answer.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter, deque
from collections.abc import Iterable, Mapping

import attrs

from .adaptive import ADAPTIVE_PRESETS, AdaptivePolicy, AdaptiveState
from .errors import DeadlineExceeded, EngineError, IpBanned, Overloaded
from .fair_queue import FairEntry, FairQueue
from .filters import DEFAULT_RATE_LIMITS, RateLimit
from .messages import AcquireWeight, Lane, ThrottleKind, ThrottleObserved, UsageObserved
from .rate_windows import Window

__all__ = [
    "DEFAULT_BAN_S",
    "Admission",
    "AdmissionStep",
    "LaneWaits",
    "LimiterStatistics",
    "WindowStatistics",
]

#: Ban length assumed for a 418 that names no end (Binance's minimum ban).
DEFAULT_BAN_S = 120.0
#: Grants remembered per lane for the wait-time percentiles.
WAIT_SAMPLES = 4096
#: How often a recovering adaptive factor is looked at again.
_RECOVERY_TICK_S = 1.0


@attrs.frozen(kw_only=True)
class WindowStatistics:
    """One window's state.

    Attributes:
        name: ``weight_1m``, ``orders_10s``, ``orders_1m``...
        limit: The exchange's limit.
        effective_limit: The limit after the adaptive factor.
        reserve: Units held for the priority lane.
        used: Units counted in the current window.
        resets_in_s: Seconds until the window resets.
    """

    name: str
    limit: int
    effective_limit: int
    reserve: int
    used: int
    resets_in_s: float


@attrs.frozen(kw_only=True)
class LaneWaits:
    """How long granted requests of one lane waited, over the recent grants."""

    samples: int
    p50_s: float
    p99_s: float
    max_s: float


@attrs.frozen(kw_only=True)
class LimiterStatistics:
    """A snapshot of the limiter."""

    windows: tuple[WindowStatistics, ...]
    waiting_by_lane: dict[str, int]
    waiting_by_strategy: dict[str, int]
    waits_by_lane: dict[str, LaneWaits]
    granted: int
    refused: int
    refused_by_reason: dict[str, int]
    throttles_observed: int
    throttles_by_kind: dict[str, int]
    paused_for_s: float
    orders_paused_for_s: float
    busy_paused_for_s: float
    banned_for_s: float
    adaptive_factor: float


@attrs.frozen(kw_only=True)
class AdmissionStep:
    """What one look at the queues decided.

    Attributes:
        granted: Requests admitted now, with how long each waited.
        refused: Requests refused now, with the error to answer.
        wake_in_s: Look again after this long (trio seconds), or ``None`` to
            wait for the next message.
    """

    granted: list[tuple[AcquireWeight, float]]
    refused: list[tuple[AcquireWeight, EngineError]]
    wake_in_s: float | None


@attrs.define(eq=False)
class _Waiting:
    msg: AcquireWeight
    since: float
    entry: FairEntry[_Waiting] | None = None


def _live(waiting: _Waiting) -> bool:
    return waiting.entry is not None and waiting.entry.live


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


class Admission:
    """Windows, lanes, fair queues, pauses and adaptive limits; no I/O.

    Times are passed in: ``now`` on the monotonic trio clock (deadlines,
    pauses) and ``now_s`` as server epoch seconds (window alignment).
    """

    def __init__(
        self,
        rate_limits: Iterable[RateLimit] = DEFAULT_RATE_LIMITS,
        *,
        reserve_fraction: float = 0.1,
        edge_s: float = 0.25,
        release_s: float = 1.0,
        adaptive: AdaptivePolicy = ADAPTIVE_PRESETS["off"],
        max_waiting: int = 10_000,
        max_waiting_per_strategy: int = 2_000,
        shares: Mapping[str, float] | None = None,
    ) -> None:
        self._reserve_fraction = reserve_fraction
        self._windows = [Window(r, reserve_fraction) for r in rate_limits]
        self._edge_s = edge_s
        self._release_s = release_s
        self._adaptive = AdaptiveState(adaptive)
        self._max_waiting = max_waiting
        self._max_per_strategy = max_waiting_per_strategy
        self._shares: dict[str, float] = dict(shares or {})
        self._lanes: dict[Lane, FairQueue[_Waiting]] = {lane: FairQueue() for lane in Lane}
        self._deadlines: list[tuple[float, int, _Waiting]] = []
        self._seq = itertools.count()
        self._waits: dict[Lane, deque[float]] = {lane: deque(maxlen=WAIT_SAMPLES) for lane in Lane}
        self._granted = 0
        self._refused: Counter[str] = Counter()
        self._throttles: Counter[str] = Counter()
        self._paused_until = -math.inf
        self._orders_paused_until = -math.inf
        self._busy_paused_until = -math.inf
        self._banned_until = -math.inf
        self._ban_swept = -math.inf  # the ban end the waiting lines were last checked against

    # -- configuration -----------------------------------------------------------------

    def set_rate_limits(self, rate_limits: Iterable[RateLimit]) -> None:
        """Adopt new limits (from exchangeInfo), keeping the usage already counted."""
        old = {w.name: w for w in self._windows}
        fresh = [Window(r, self._reserve_fraction) for r in rate_limits]
        for w in fresh:
            if w.name in old:
                w.index, w.used = old[w.name].index, old[w.name].used
        self._windows = fresh

    def set_share(self, strategy: str, share: float) -> None:
        """Weight ``strategy`` in every lane's fair queue (new requests on)."""
        if share <= 0:
            raise ValueError(f"share must be positive, got {share}")
        self._shares[strategy] = share

    def reset(self) -> None:
        """Forget usage estimates and adaptive penalties; pauses and bans stay.

        Pauses and bans are the server's decisions, not estimates: forgetting
        them would turn a 429 into a 418.
        """
        for w in self._windows:
            w.forget()
        self._adaptive.reset()

    @property
    def waiting(self) -> int:
        """Requests queued in every lane."""
        return sum(len(q) for q in self._lanes.values())

    # -- requests ----------------------------------------------------------------------

    def submit(self, msg: AcquireWeight, now: float) -> EngineError | None:
        """Queue a request, or return the error to refuse it with at once."""
        if now < self._banned_until and self._banned_until >= msg.deadline:
            return self._count_refusal(self._ban_error(now))
        if self.waiting >= self._max_waiting:
            return self._count_refusal(Overloaded(queue="rate limiter"))
        if sum(q.depth(msg.strategy) for q in self._lanes.values()) >= self._max_per_strategy:
            return self._count_refusal(Overloaded(queue=f"rate limiter ({msg.strategy})"))
        waiting = _Waiting(msg, now)
        cost = max(1, msg.orders or msg.weight)
        share = self._shares.get(msg.strategy, 1.0)
        waiting.entry = self._lanes[msg.lane].push(
            waiting, flow=msg.strategy, cost=cost, share=share
        )
        heapq.heappush(self._deadlines, (msg.deadline, next(self._seq), waiting))
        return None

    def drain(self) -> list[AcquireWeight]:
        """Remove every waiting request (shutdown); the caller refuses them."""
        out = [entry.item.msg for q in self._lanes.values() for entry in q.drain()]
        self._deadlines.clear()
        return out

    def step(self, now: float, now_s: float) -> AdmissionStep:
        """Refuse what expired, grant what fits, and say when to look again."""
        refused: list[tuple[AcquireWeight, EngineError]] = []
        granted: list[tuple[AcquireWeight, float]] = []
        waits: list[float] = []
        self._expire(now, refused)
        if now < self._banned_until:
            if self._ban_swept != self._banned_until:
                # Once per ban: what arrives later is checked in ``submit``.
                self._refuse_outlasted_by_ban(now, refused)
                self._ban_swept = self._banned_until
            waits.append(self._banned_until - now)
        else:
            self._grant(now, now_s, granted, waits)
        while self._deadlines and not _live(self._deadlines[0][2]):
            heapq.heappop(self._deadlines)
        if self._deadlines:
            waits.append(self._deadlines[0][0] - now)
        if self._adaptive.recovering(now) and self.waiting:
            waits.append(_RECOVERY_TICK_S)
        wake = max(0.0, min(waits)) if waits else None
        return AdmissionStep(granted=granted, refused=refused, wake_in_s=wake)

    # -- observations ------------------------------------------------------------------

    def observe_usage(self, usage: UsageObserved, now_s: float) -> None:
        """Raise local estimates to the server's counts."""
        for w in self._windows:
            used = self._header_value(w, usage)
            if used is not None:
                w.observe(used, now_s)

    def observe_throttle(self, msg: ThrottleObserved, now: float, server_ms: int) -> None:
        """Pause what the answer says is spent and lower the adaptive limits."""
        self._throttles[msg.kind.value] += 1
        self._adaptive.penalize(now)
        now_s = server_ms / 1000
        retry = msg.retry_after_s or 0.0
        match msg.kind:
            case ThrottleKind.BANNED:
                named = (msg.ban_until_ms - server_ms) / 1000 if msg.ban_until_ms else 0.0
                length = max(retry, named) or DEFAULT_BAN_S
                self._banned_until = max(self._banned_until, now + length)
            case ThrottleKind.IP_WEIGHT:
                rest = self._rest_of(now_s, kind="weight", length_s=None)
                self._paused_until = max(self._paused_until, now + max(retry, rest))
            case ThrottleKind.ORDER_RATE:
                rest = self._rest_of(now_s, kind="orders", length_s=msg.window_s)
                self._orders_paused_until = max(self._orders_paused_until, now + max(retry, rest))
            case ThrottleKind.SERVER_BUSY:
                shortest = min(
                    (w.length_s for w in self._windows if w.kind == "orders"), default=None
                )
                rest = self._rest_of(now_s, kind="orders", length_s=shortest)
                self._busy_paused_until = max(self._busy_paused_until, now + max(retry, rest))
            case ThrottleKind.SERVER_ERROR:
                pass

    # -- statistics --------------------------------------------------------------------

    def statistics(self, now: float, now_s: float) -> LimiterStatistics:
        """Used and limit per window, queues, wait percentiles, pauses."""
        factor = self._adaptive.factor(now)
        windows = []
        for w in self._windows:
            w.roll(now_s)
            windows.append(
                WindowStatistics(
                    name=w.name,
                    limit=w.limit,
                    effective_limit=math.floor(w.limit * factor),
                    reserve=w.reserve,
                    used=w.used,
                    resets_in_s=w.remaining_s(now_s),
                )
            )
        by_strategy: Counter[str] = Counter()
        for q in self._lanes.values():
            by_strategy.update(q.depth_by_flow())
        waits = {}
        for lane, samples in self._waits.items():
            ordered = sorted(samples)
            waits[lane.name] = LaneWaits(
                samples=len(ordered),
                p50_s=_percentile(ordered, 0.5),
                p99_s=_percentile(ordered, 0.99),
                max_s=ordered[-1] if ordered else 0.0,
            )
        return LimiterStatistics(
            windows=tuple(windows),
            waiting_by_lane={lane.name: len(q) for lane, q in self._lanes.items()},
            waiting_by_strategy=dict(by_strategy),
            waits_by_lane=waits,
            granted=self._granted,
            refused=sum(self._refused.values()),
            refused_by_reason=dict(self._refused),
            throttles_observed=sum(self._throttles.values()),
            throttles_by_kind=dict(self._throttles),
            paused_for_s=max(0.0, self._paused_until - now),
            orders_paused_for_s=max(0.0, self._orders_paused_until - now),
            busy_paused_for_s=max(0.0, self._busy_paused_until - now),
            banned_for_s=max(0.0, self._banned_until - now),
            adaptive_factor=factor,
        )

    # -- internals ---------------------------------------------------------------------

    def _expire(self, now: float, refused: list[tuple[AcquireWeight, EngineError]]) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, waiting = heapq.heappop(self._deadlines)
            entry = waiting.entry
            if entry is not None and entry.live:
                self._lanes[waiting.msg.lane].withdraw(entry)
                error = DeadlineExceeded(waited_s=now - waiting.since)
                refused.append((waiting.msg, self._count_refusal(error)))

    def _refuse_outlasted_by_ban(
        self, now: float, refused: list[tuple[AcquireWeight, EngineError]]
    ) -> None:
        kept: list[tuple[float, int, _Waiting]] = []
        for item in self._deadlines:
            waiting = item[2]
            entry = waiting.entry
            if entry is None or not entry.live:
                continue
            if waiting.msg.deadline <= self._banned_until:
                self._lanes[waiting.msg.lane].withdraw(entry)
                refused.append((waiting.msg, self._count_refusal(self._ban_error(now))))
            else:
                kept.append(item)
        heapq.heapify(kept)
        self._deadlines = kept

    def _grant(
        self,
        now: float,
        now_s: float,
        granted: list[tuple[AcquireWeight, float]],
        waits: list[float],
    ) -> None:
        factor = self._adaptive.factor(now)
        for w in self._windows:
            w.roll(now_s)
        blocked: set[int] = set()
        for lane in Lane:
            queue = self._lanes[lane]
            priority = lane is Lane.PRIORITY
            while (entry := queue.peek()) is not None:
                msg = entry.item.msg
                needs = {
                    i for i, w in enumerate(self._windows) if w.cost(msg.weight, msg.orders) > 0
                }
                if needs & blocked:
                    break
                paused = self._pause_left(now, msg)
                if paused > 0:
                    waits.append(paused)
                    blocked |= needs or set(range(len(self._windows)))
                    break
                wait = self._room_wait(msg, needs, now_s, priority=priority, factor=factor)
                if wait is not None:
                    waits.append(wait)
                    blocked |= needs
                    break
                queue.pop()
                if not msg.probe:
                    for i in needs:
                        w = self._windows[i]
                        w.charge(w.cost(msg.weight, msg.orders), now_s, self._edge_s)
                waited = now - entry.item.since
                self._waits[lane].append(waited)
                self._granted += 1
                granted.append((msg, waited))

    def _room_wait(
        self, msg: AcquireWeight, needs: set[int], now_s: float, *, priority: bool, factor: float
    ) -> float | None:
        """None if every window has room; else how long until one might."""
        wait: float | None = None
        for i in needs:
            w = self._windows[i]
            cap = w.cap(now_s, priority=priority, factor=factor, release_s=self._release_s)
            if w.fits(w.cost(msg.weight, msg.orders), cap):
                continue
            rest = w.remaining_s(now_s)
            until = rest - self._release_s if not priority and rest > self._release_s else rest
            wait = until if wait is None else min(wait, until)
        return wait

    def _pause_left(self, now: float, msg: AcquireWeight) -> float:
        left = self._paused_until - now
        if msg.orders > 0:
            left = max(left, self._orders_paused_until - now)
            if msg.lane is not Lane.PRIORITY:
                left = max(left, self._busy_paused_until - now)
        return left

    def _rest_of(self, now_s: float, *, kind: str, length_s: float | None) -> float:
        rests = [
            w.remaining_s(now_s)
            for w in self._windows
            if w.kind == kind and (length_s is None or w.length_s == length_s)
        ]
        return max(rests, default=0.0)

    def _ban_error(self, now: float) -> IpBanned:
        return IpBanned(
            http_status=418,
            code=-1003,
            msg="IP banned; no requests until the ban ends",
            retry_after=self._banned_until - now,
        )

    def _count_refusal(self, error: EngineError) -> EngineError:
        self._refused[type(error).__name__] += 1
        return error

    @staticmethod
    def _header_value(w: Window, usage: UsageObserved) -> int | None:
        if w.kind == "weight" and w.length_s == 60:
            return usage.used_weight_1m
        if w.kind == "orders" and w.length_s == 10:
            return usage.order_count_10s
        if w.kind == "orders" and w.length_s == 60:
            return usage.order_count_1m
        return None
