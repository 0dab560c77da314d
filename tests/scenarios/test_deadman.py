"""The engine owns a dead-man switch: the exchange cancels if the process stops beating."""

from __future__ import annotations

import trio
import trio.testing

from trio_fapi import OrderRequest, OrderStatus
from trio_fapi.sim import FaultKind, FaultPlan, FaultStep, SimHandle, default_config

from .test_end_to_end import below_market, engine, ledger_orders

STILL = default_config(seed=4).still_market()
COUNTDOWN = "/fapi/v1/countdownCancelAll"


def _armed(sim: SimHandle) -> dict[str, int]:
    return dict(sim.exchange.ledger.countdowns)


def _heartbeats(sim: SimHandle) -> int:
    by_path = sim.stats()["requests_by_path"]
    assert isinstance(by_path, dict)
    return int(by_path.get(COUNTDOWN, 0))


class TestHeartbeat:
    async def test_armed_while_orders_live_and_disarmed_when_none_are(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(STILL, deadman_countdown_ms=10_000, deadman_refresh_s=3) as (sim, ex):
            assert _armed(sim) == {}
            price = await below_market(ex)
            order = await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
            await trio.sleep(0.5)
            assert set(_armed(sim)) == {"BTCUSDT"}
            beats = _heartbeats(sim)
            await trio.sleep(30)  # ten refreshes; the countdown never runs out
            assert _heartbeats(sim) == beats + 10
            assert (await ex.query_order("BTCUSDT", order.client_order_id)).status is (
                OrderStatus.NEW
            )
            await ex.cancel_order("BTCUSDT", order.client_order_id)
            await trio.sleep(3)
            assert _armed(sim) == {}  # the last live order went: disarmed by the next beat

    async def test_a_clean_shutdown_disarms_and_leaves_orders_open(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(STILL, deadman_countdown_ms=10_000, deadman_refresh_s=3) as (sim, ex):
            price = await below_market(ex)
            await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
            await trio.sleep(1)
            assert set(_armed(sim)) == {"BTCUSDT"}
        assert _armed(sim) == {}
        await trio.sleep(60)
        assert [o["status"] for o in ledger_orders(sim)] == ["NEW"]

    async def test_when_heartbeats_stop_the_exchange_cancels(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(
            STILL, deadman_countdown_ms=10_000, deadman_refresh_s=3, poll_interval_s=1
        ) as (sim, ex):
            price = await below_market(ex)
            # The first heartbeat arms the countdown; every later one is lost, as
            # when the process hangs or its network goes.
            sim.set_faults(
                FaultPlan.scripted(
                    FaultStep(fault=FaultKind.DROP, path=COUNTDOWN, nth=2, times=10_000)
                )
            )
            order = await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
            await trio.sleep(15)
            assert [o["status"] for o in ledger_orders(sim)] == ["CANCELED"]
            # The engine sees it too, and counts the heartbeats that failed.
            final = await ex.query_order("BTCUSDT", order.client_order_id)
            assert final.status is OrderStatus.CANCELED
            stats = ex.statistics().deadman
            assert stats is not None
            assert stats.heartbeats == 1
            assert stats.failures >= 3

    async def test_shutdown_right_after_a_fill_does_not_wait(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(STILL) as (sim, ex):
            await ex.place_order(OrderRequest.market("BTCUSDT", "BUY", "0.002"))
            closing = trio.current_time()
        # The symbol went flat a moment ago (the switch lingers): the disarm is
        # sent at once, not at the next beat or after drain_s.
        assert trio.current_time() - closing < 0.5
        assert _armed(sim) == {}
