"""The rate limiter admits by every window, on virtual time, with exact instants."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from trio_fapi._time import AnchoredClock
from trio_fapi.actors.limiter import RateLimiter
from trio_fapi.protocol.errors import DeadlineExceeded, IpBanned, Overloaded
from trio_fapi.protocol.filters import RateLimit
from trio_fapi.protocol.messages import (
    Lane,
    LimiterCommand,
    ThrottleKind,
    ThrottleObserved,
    UsageObserved,
    WeightGranted,
    WeightRefused,
)

from .support import running

ORDERS_10S = RateLimit(kind="ORDERS", interval="SECOND", interval_num=10, limit=5)
WEIGHT_1M = RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=100)


def _limiter(
    *limits: RateLimit, epoch_ms: int = 0, reserve_fraction: float = 0, **options: Any
) -> RateLimiter:
    """A limiter on a clock that starts at ``epoch_ms``; no reserve unless asked."""
    return RateLimiter(
        clock_ms=AnchoredClock(epoch_ms=epoch_ms),
        rate_limits=limits,
        reserve_fraction=reserve_fraction,
        **options,
    )


async def _ask(
    limiter: RateLimiter,
    channel: trio.MemorySendChannel[LimiterCommand],
    *,
    weight: int = 0,
    orders: int = 0,
    lane: Lane = Lane.ORDER,
    strategy: str = "s",
    deadline: float = 1e9,
) -> tuple[float, WeightGranted | WeightRefused]:
    answer = await limiter.acquire(
        channel,
        request_id=1,
        weight=weight,
        orders=orders,
        lane=lane,
        strategy=strategy,
        deadline=deadline,
    )
    return trio.current_time(), answer


class TestWindows:
    """Requests are admitted only while every window they draw on has room."""

    async def test_orders_window_spreads_a_burst_over_windows(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limiter = _limiter(ORDERS_10S)
        channel = limiter.sender()
        times: list[float] = []

        async def one() -> None:
            at, answer = await _ask(limiter, channel, orders=1)
            assert isinstance(answer, WeightGranted)
            times.append(at)

        async with running(limiter), trio.open_nursery() as burst:
            for _ in range(12):
                burst.start_soon(one)
        assert sorted(times) == [0.0] * 5 + [10.0] * 5 + [20.0] * 2

    async def test_weight_and_orders_are_separate_windows(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limiter = _limiter(WEIGHT_1M, ORDERS_10S)
        channel = limiter.sender()
        async with running(limiter):
            for _ in range(5):
                await _ask(limiter, channel, orders=1)
            # The ORDERS window is full, but a query draws only on weight.
            at, answer = await _ask(limiter, channel, weight=5, lane=Lane.QUERY)
            assert isinstance(answer, WeightGranted)
            assert at == 0.0

    async def test_server_usage_header_raises_the_estimate(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limiter = _limiter(WEIGHT_1M)
        channel = limiter.sender()
        async with running(limiter):
            # Another process on the same IP used 95 of 100.
            await channel.send(
                UsageObserved(used_weight_1m=95, order_count_10s=None, order_count_1m=None)
            )
            await trio.testing.wait_all_tasks_blocked()
            at, answer = await _ask(limiter, channel, weight=10)
            assert isinstance(answer, WeightGranted)
            assert at == 60.0


class TestLanes:
    """Cancels overtake queued orders, and reserved capacity is theirs alone."""

    async def test_priority_lane_goes_first_and_uses_the_reserve(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limiter = _limiter(
            RateLimit(kind="REQUEST_WEIGHT", interval="SECOND", interval_num=10, limit=10),
            reserve_fraction=0.2,
            release_s=0.0,
        )
        channel = limiter.sender()
        order: list[tuple[str, float]] = []

        async def ask(name: str, lane: Lane) -> None:
            at, answer = await _ask(limiter, channel, weight=1, lane=lane)
            assert isinstance(answer, WeightGranted)
            order.append((name, at))

        async with running(limiter):
            for _ in range(8):  # fills the non-reserved 80%
                await ask("fill", Lane.ORDER)
            async with trio.open_nursery() as waiting:
                waiting.start_soon(ask, "order", Lane.ORDER)
                await trio.testing.wait_all_tasks_blocked()
                waiting.start_soon(ask, "cancel", Lane.PRIORITY)
        assert ("cancel", 0.0) in order
        assert ("order", 10.0) in order


class TestRefusals:
    """Every request gets exactly one answer, refusals included."""

    async def test_deadline_refusal_at_the_deadline(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limiter = _limiter(ORDERS_10S)
        channel = limiter.sender()
        async with running(limiter):
            for _ in range(5):
                await _ask(limiter, channel, orders=1)
            at, answer = await _ask(limiter, channel, orders=1, deadline=3.0)
            assert isinstance(answer, WeightRefused)
            assert isinstance(answer.error, DeadlineExceeded)
            assert at == 3.0

    async def test_queue_bound_refuses_overload(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limiter = _limiter(ORDERS_10S, max_waiting=2)
        channel = limiter.sender()
        answers: list[WeightGranted | WeightRefused] = []

        async def one() -> None:
            answers.append((await _ask(limiter, channel, orders=1, deadline=1.0))[1])

        async with running(limiter), trio.open_nursery() as burst:
            for _ in range(10):
                burst.start_soon(one)
        overloaded = [
            a for a in answers if isinstance(a, WeightRefused) and isinstance(a.error, Overloaded)
        ]
        assert len(answers) == 10
        assert len(overloaded) == 3  # 5 granted, 2 waited until the deadline, 3 refused at once

    async def test_retry_after_pause_is_honoured_exactly(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limiter = _limiter(WEIGHT_1M, epoch_ms=5_000)
        channel = limiter.sender()
        async with running(limiter):
            await channel.send(
                ThrottleObserved(kind=ThrottleKind.IP_WEIGHT, http_status=429, retry_after_s=70.0)
            )
            await trio.testing.wait_all_tasks_blocked()
            # A later, shorter Retry-After never shortens the pause.
            await channel.send(
                ThrottleObserved(kind=ThrottleKind.IP_WEIGHT, http_status=429, retry_after_s=1.0)
            )
            at, answer = await _ask(limiter, channel, weight=1)
            assert isinstance(answer, WeightGranted)
            assert at == 70.0

    async def test_ip_ban_refuses_everything_until_it_ends(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limiter = _limiter(WEIGHT_1M)
        channel = limiter.sender()
        async with running(limiter):
            await channel.send(
                ThrottleObserved(kind=ThrottleKind.BANNED, http_status=418, retry_after_s=120.0)
            )
            await trio.testing.wait_all_tasks_blocked()
            # A deadline inside the ban cannot be met: refused at once, with the ban.
            at, answer = await _ask(limiter, channel, weight=1, lane=Lane.PRIORITY, deadline=60.0)
            assert isinstance(answer, WeightRefused)
            assert isinstance(answer.error, IpBanned)
            assert at == 0.0
            # A deadline past the ban waits for its end, to the virtual instant.
            at, answer = await _ask(limiter, channel, weight=1, deadline=500.0)
            assert isinstance(answer, WeightGranted)
            assert at == 120.0


class TestUserCalls:
    """The original notes' names: get_status(), reset(), wait_for_capacity()."""

    async def test_wait_for_capacity_waits_for_room_and_charges_nothing(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limiter = _limiter(ORDERS_10S)
        channel = limiter.sender()
        async with running(limiter):
            for _ in range(5):
                await _ask(limiter, channel, orders=1)
            assert not await limiter.wait_for_capacity(orders=1, lane=Lane.ORDER, timeout_s=4)
            assert trio.current_time() == 4.0
            assert await limiter.wait_for_capacity(orders=1, lane=Lane.ORDER)
            assert trio.current_time() == 10.0
            assert limiter.get_status()["windows"]["orders_10s"]["used"] == 0

    async def test_reset_forgets_the_estimate_but_not_a_pause(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limiter = _limiter(WEIGHT_1M)
        channel = limiter.sender()
        async with running(limiter):
            await _ask(limiter, channel, weight=60, lane=Lane.QUERY)
            await channel.send(
                ThrottleObserved(kind=ThrottleKind.IP_WEIGHT, http_status=429, retry_after_s=5)
            )
            await limiter.reset()
            status = limiter.get_status()
            assert status["windows"]["weight_1m"]["used"] == 0
            assert status["paused_for_s"] == 60.0
            at, answer = await _ask(limiter, channel, weight=1, lane=Lane.QUERY)
            assert isinstance(answer, WeightGranted)
            assert at == 60.0

    async def test_status_shows_queues_per_strategy_and_wait_percentiles(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limiter = _limiter(ORDERS_10S)
        channel = limiter.sender()
        seen: dict[str, object] = {}

        async def ask(strategy: str) -> None:
            await _ask(limiter, channel, orders=1, strategy=strategy)

        async with running(limiter), trio.open_nursery() as burst:
            for i in range(8):
                burst.start_soon(ask, "a" if i < 6 else "b")
            await trio.testing.wait_all_tasks_blocked()
            seen.update(limiter.get_status())
        waiting = seen["waiting_by_strategy"]
        assert isinstance(waiting, dict)
        assert sum(waiting.values()) == 3
        stats = limiter.statistics()
        assert stats.waits_by_lane["ORDER"].samples == 8
        assert stats.waits_by_lane["ORDER"].max_s == 10.0
        assert stats.waits_by_lane["ORDER"].p50_s == 0.0

    async def test_set_share_weights_a_strategy(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limiter = _limiter(ORDERS_10S)
        channel = limiter.sender()
        grants: list[str] = []

        async def ask(strategy: str) -> None:
            await _ask(limiter, channel, orders=1, strategy=strategy)
            grants.append(strategy)

        async with running(limiter):
            await limiter.set_share("big", 4.0)
            for _ in range(5):  # fill the first window
                await ask("warm-up")
            async with trio.open_nursery() as burst:
                for _ in range(20):
                    burst.start_soon(ask, "big")
                    burst.start_soon(ask, "small")
                await trio.testing.wait_all_tasks_blocked()
                await trio.sleep(10)  # one window: 5 grants among 40 waiting
                await trio.testing.wait_all_tasks_blocked()
                window = grants[5:]
                assert window.count("big") == 4
                assert window.count("small") == 1
                burst.cancel_scope.cancel()
