"""Many strategies, one account: the limiter keeps the engine inside every window.

Every test runs on virtual time against the in-process exchange, which enforces
the same windows, sends the usage headers, answers 429 and bans with 418.
"""

from __future__ import annotations

from collections import Counter

import attrs
import httpx
import pytest
import trio
import trio.testing

from trio_fapi import OrderRequest, OrderStatus
from trio_fapi.actors.executor import Executor
from trio_fapi.protocol.errors import EngineError
from trio_fapi.protocol.filters import RateLimit
from trio_fapi.sim import BanPolicy, SimHandle, default_config

from .test_end_to_end import below_market, engine, ledger_orders

STILL = default_config(seed=3).still_market()


def _status_count(sim: SimHandle, status: str) -> int:
    statuses = sim.stats()["responses_by_status"]
    assert isinstance(statuses, dict)
    return int(statuses.get(status, 0))


async def _to_minute_boundary(ex: Executor) -> float:
    """Sleep to the next whole minute of the engine's server clock; return that trio time.

    The engine's windows are aligned on its estimate of the exchange's clock,
    which may differ from the simulator's by a rounding millisecond: counting
    from the simulator's minute would then put a window edge 1 ms off.
    """
    await trio.sleep((60_000 - ex.server_now_ms() % 60_000) / 1000)
    assert ex.server_now_ms() % 60_000 == 0
    return trio.current_time()


class TestBurst:
    async def test_1000_orders_from_50_strategies_at_exact_window_instants(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(STILL, order_deadline_s=120) as (sim, ex):
            price = await below_market(ex)
            t0 = await _to_minute_boundary(ex)
            acked: list[tuple[float, str]] = []

            async def strategy(name: str) -> None:
                handle = ex.strategy(name)
                for _ in range(20):
                    order = await handle.place(
                        OrderRequest.limit("BTCUSDT", "BUY", "0.002", price, time_in_force="IOC")
                    )
                    assert order.status is OrderStatus.EXPIRED
                    acked.append((trio.current_time() - t0, name))

            async with trio.open_nursery() as nursery:
                for i in range(50):
                    nursery.start_soon(strategy, f"s{i:02d}")

            assert _status_count(sim, "429") == 0
            assert len(ledger_orders(sim)) == 1000
            # 300 per 10 s window: 270 at once, the 30 held for the priority
            # lane released in each window's last second, 100 left for the fourth.
            by_time = Counter(round(t, 6) for t, _ in acked)
            assert by_time == {
                0.0: 270,
                9.0: 30,
                10.0: 270,
                19.0: 30,
                20.0: 270,
                29.0: 30,
                30.0: 100,
            }
            assert Counter(name for _, name in acked) == {f"s{i:02d}": 20 for i in range(50)}


class TestFairness:
    """Strategies that keep the limiter busy share the windows by their shares."""

    @staticmethod
    async def _contend(ex: Executor, sim: SimHandle, names: list[str]) -> Counter[str]:
        """Keep 420 placements waiting for 60 s; count each strategy's grants after 10 s.

        More are waiting than a window admits, so every grant after the first
        window is the limiter's choice, not whoever asked first.
        """
        price = await below_market(ex)
        t0 = await _to_minute_boundary(ex)
        end = t0 + 60
        granted: Counter[str] = Counter()

        async def worker(name: str) -> None:
            handle = ex.strategy(name)
            request = OrderRequest.limit("BTCUSDT", "BUY", "0.002", price, time_in_force="IOC")
            while trio.current_time() < end:
                await handle.place(request)
                if t0 + 10 <= trio.current_time() < end:
                    granted[name] += 1

        with trio.move_on_at(end):
            async with trio.open_nursery() as nursery:
                for name in names:
                    for _ in range(420 // len(names)):
                        nursery.start_soon(worker, name)
        return granted

    async def test_equal_shares_get_equal_throughput(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(STILL, order_deadline_s=600, max_in_flight_per_symbol=1024) as (
            sim,
            ex,
        ):
            names = [f"s{i}" for i in range(10)]
            granted = await self._contend(ex, sim, names)
            assert _status_count(sim, "429") == 0
            # Windows 10-60 s of the minute: the minute's 1200 minus the first
            # window's 300 is 900, shared by ten strategies.
            assert sum(granted.values()) == 900
            assert max(granted.values()) - min(granted.values()) <= 1

    async def test_a_double_share_gets_double_throughput(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(
            STILL,
            order_deadline_s=600,
            max_in_flight_per_symbol=1024,
            strategy_shares={"big": 2.0},
        ) as (sim, ex):
            granted = await self._contend(ex, sim, ["big", "a", "b"])
            assert sum(granted.values()) == 900
            assert abs(granted["big"] - 2 * granted["a"]) <= 2
            assert abs(granted["a"] - granted["b"]) <= 1


class TestPriority:
    async def test_cancels_overtake_queued_orders(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(STILL, order_deadline_s=120, max_in_flight_per_symbol=1024) as (
            sim,
            ex,
        ):
            price = await below_market(ex)
            resting = await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
            await _to_minute_boundary(ex)
            done = trio.Event()

            async def flood() -> None:
                async with trio.open_nursery() as nursery:
                    for _ in range(600):
                        nursery.start_soon(
                            ex.place_order,
                            OrderRequest.limit(
                                "BTCUSDT", "BUY", "0.002", price, time_in_force="IOC"
                            ),
                        )
                done.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(flood)
                await trio.sleep(1)  # the first window is spent; hundreds are queued
                waiting = ex.statistics().limiter.waiting_by_lane["ORDER"]
                assert waiting > 250
                issued = trio.current_time()
                canceled = await ex.cancel_order("BTCUSDT", resting.client_order_id)
                assert canceled.status is OrderStatus.CANCELED
                assert trio.current_time() == issued  # no wait behind the queue
                assert not done.is_set()
            assert _status_count(sim, "429") == 0


class TestServerIsTheAuthority:
    async def test_weight_spent_by_another_process_is_respected(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(STILL, order_deadline_s=120, poll_interval_s=3600) as (sim, ex):
            t0 = await _to_minute_boundary(ex)
            # Another process on the same IP spends almost the whole minute.
            async with httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as other:
                for _ in range(119):
                    r = await other.get(
                        "/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 1000}
                    )
                    assert r.status_code == 200
            # 119 * 20 = 2380 of 2400 used. The engine learns it from its first answer,
            # and from then on waits: its queries may not touch the 10% reserve
            # until the window's last second, then the rest waits for the reset.
            times = []
            for _ in range(30):
                await ex.open_orders("BTCUSDT")
                times.append(round(trio.current_time() - t0, 6))
            assert _status_count(sim, "429") == 0
            assert times == [0.0] + [59.0] * 19 + [60.0] * 10


class TestBan:
    async def test_a_418_stops_every_request_until_the_ban_ends(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limits = (
            RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=2400),
            RateLimit(kind="ORDERS", interval="SECOND", interval_num=10, limit=300),
            RateLimit(kind="ORDERS", interval="MINUTE", interval_num=1, limit=1200),
        )
        sim_config = attrs.evolve(
            STILL,
            rate_limits=limits,
            ban_policy=BanPolicy(violations=1, first_ban_s=180),
        )
        async with engine(
            sim_config, order_deadline_s=400, poll_interval_s=3600, deadman=False
        ) as (sim, ex):
            price = await below_market(ex)
            # A careless process on the same IP gets it banned.
            async with httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as other:
                while (
                    await other.get("/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 1000})
                ).status_code != 418:
                    pass
            ban_end_ms = sim.exchange.rates.banned_until_ms()
            before = sim.stats()["requests_by_path"]
            assert isinstance(before, dict)
            served_before = sum(before.values())
            banned_at = trio.current_time()

            async def place() -> None:
                await ex.place_order(
                    OrderRequest.limit("BTCUSDT", "BUY", "0.002", price, time_in_force="IOC")
                )

            def served() -> int:
                by_path = sim.stats()["requests_by_path"]
                assert isinstance(by_path, dict)
                return sum(by_path.values()) - served_before

            async with trio.open_nursery() as nursery:
                nursery.start_soon(place)
                await trio.sleep(1)
                assert served() == 1  # it met the ban (418, not executed) and waits
                assert ex.statistics().limiter.banned_for_s > 0
                for _ in range(4):
                    nursery.start_soon(place)
                await trio.sleep(60)
                assert served() == 1  # nothing else was sent during the ban
            assert served() == 6
            assert sim.now_ms() >= ban_end_ms
            assert trio.current_time() - banned_at == pytest.approx(180, abs=0.01)
            assert len([o for o in ledger_orders(sim) if o["status"] == "EXPIRED"]) == 5

    async def test_a_ban_outlasting_the_deadline_is_refused_at_once(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim_config = attrs.evolve(STILL, ban_policy=BanPolicy(violations=1, first_ban_s=600))
        async with engine(sim_config, order_deadline_s=30, poll_interval_s=3600) as (sim, ex):
            price = await below_market(ex)
            async with httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as other:
                while (
                    await other.get("/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 1000})
                ).status_code != 418:
                    pass
            request = OrderRequest.limit("BTCUSDT", "BUY", "0.002", price, time_in_force="IOC")
            first = await _outcome(ex, request)  # meets the ban: REJECTED, not executed
            started = trio.current_time()
            second = await _outcome(ex, request)  # refused before any I/O
            assert trio.current_time() == started
            assert "banned" in first.lower() or "418" in first
            assert "banned" in second.lower()
            assert not [o for o in ledger_orders(sim) if o["status"] == "EXPIRED"]


async def _outcome(ex: Executor, request: OrderRequest) -> str:
    try:
        order = await ex.place_order(request)
    except EngineError as exc:
        return str(exc)
    return f"{order.status.value} {order.error}"


class TestSplitLimits:
    async def test_a_process_uses_only_its_fraction_of_the_limits(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(STILL, order_deadline_s=120, rate_limit_fraction=0.5) as (_sim, ex):
            limits = {w.name: w.limit for w in ex.statistics().limiter.windows}
            assert limits == {"weight_1m": 1200, "orders_10s": 150, "orders_1m": 600}
            price = await below_market(ex)
            t0 = await _to_minute_boundary(ex)
            times: list[float] = []

            async def one() -> None:
                await ex.place_order(
                    OrderRequest.limit("BTCUSDT", "BUY", "0.002", price, time_in_force="IOC")
                )
                times.append(round(trio.current_time() - t0, 6))

            async with trio.open_nursery() as nursery:
                for _ in range(160):
                    nursery.start_soon(one)
            assert Counter(times) == {0.0: 135, 9.0: 15, 10.0: 10}
