"""Simulated latency on trio's clock: exact virtual instants, seeded draws."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing

from trio_fapi.paper import InvalidSetting, LatencyModel, PaperBroker
from trio_fapi.protocol.enums import OrderStatus
from trio_fapi.protocol.errors import ExchangeRejected

from .conftest import T0, new_broker, quote

D = Decimal


class TestFixedLatency:
    """The venue acts halfway through the round trip; the answer lands at its end."""

    async def test_place_takes_the_round_trip(
        self, broker: PaperBroker, autojump_clock: trio.testing.MockClock
    ) -> None:
        broker.set_latency_simulation(100, 100)
        start = trio.current_time()
        order = await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.1")
        assert trio.current_time() - start == pytest.approx(0.100)
        assert order.time == T0 + 50

    async def test_reads_and_cancels_pay_it_too(
        self, broker: PaperBroker, autojump_clock: trio.testing.MockClock
    ) -> None:
        broker.set_latency_simulation(40, 40)
        order = await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", "59000.0")
        await broker.get_open_orders()
        canceled = await broker.cancel_order("BTCUSDT", order.order_id)
        assert trio.current_time() == pytest.approx(0.120)
        assert canceled.update_time == T0 + 100

    async def test_the_market_moves_while_the_order_travels(
        self, broker: PaperBroker, autojump_clock: trio.testing.MockClock
    ) -> None:
        broker.set_latency_simulation(100, 100)
        placed: list[Decimal] = []

        async def buy() -> None:
            order = await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.1")
            placed.append(order.avg_price)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(buy)
            await trio.sleep(0.020)  # the order is on its way out
            quote(broker, "60100.0", "60100.1")
        assert placed == [D("60100.1")]

    async def test_giving_up_on_the_way_back_leaves_the_order_in_place(
        self, broker: PaperBroker, autojump_clock: trio.testing.MockClock
    ) -> None:
        broker.set_latency_simulation(100, 100)
        with trio.move_on_after(0.070) as scope:
            await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", "59000.0")
        assert scope.cancelled_caught
        broker.set_latency_simulation(0, 0)
        (order,) = await broker.get_open_orders()
        assert order.status is OrderStatus.NEW

    async def test_giving_up_on_the_way_out_sends_nothing(
        self, broker: PaperBroker, autojump_clock: trio.testing.MockClock
    ) -> None:
        broker.set_latency_simulation(100, 100)
        with trio.move_on_after(0.030):
            await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", "59000.0")
        broker.set_latency_simulation(0, 0)
        assert await broker.get_open_orders() == []

    async def test_a_refusal_also_takes_the_round_trip(
        self, broker: PaperBroker, autojump_clock: trio.testing.MockClock
    ) -> None:
        broker.set_latency_simulation(60, 60)
        with pytest.raises(ExchangeRejected, match="-5022") as caught:
            await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", "60000.1", "GTX")
        assert caught.value.code == -5022
        assert trio.current_time() == pytest.approx(0.060)


class TestDrawnLatency:
    """Delays are whole milliseconds in range, and the same seed draws the same ones."""

    async def test_each_call_within_bounds_and_seeded(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        durations: dict[int, list[float]] = {}
        for seed in (5, 5, 6):
            broker = new_broker("100000", seed=seed)
            quote(broker)
            broker.set_latency_simulation(10, 50)
            took: list[float] = []
            for _ in range(20):
                start = trio.current_time()
                await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.002")
                took.append(round((trio.current_time() - start) * 1000, 6))
            assert all(10 <= ms <= 50 and ms == int(ms) for ms in took)
            assert durations.setdefault(seed, took) == took
        assert durations[5] != durations[6]
        assert len(set(durations[5])) > 5

    def test_model_draws(self) -> None:
        model = LatencyModel(min_ms=3, max_ms=3, seed=1)
        assert [model.draw_ms() for _ in range(3)] == [3, 3, 3]
        assert LatencyModel().draw_ms() == 0

    @pytest.mark.parametrize(
        ("low", "high"),
        [(-1, 5), (10, 5), (1.5, 5), (True, 5)],
        ids=["negative", "reversed", "float", "bool"],
    )
    def test_bad_bounds(self, broker: PaperBroker, low: object, high: object) -> None:
        with pytest.raises(InvalidSetting):
            broker.set_latency_simulation(low, high)  # type: ignore[arg-type]
