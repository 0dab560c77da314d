"""The engine against the sim's own fault injection (faults.md rows 8, 13-15, 19, 32, 33).

Each scenario injects one fault into the engine's first placement (or its
cancel), lets the engine settle, and checks the two invariants that matter
most against the exchange's ledger: at most one order for the intent (I1) and
the engine's answer equal to the ledger's status, executed quantity and
average price (I3).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import attrs
import pytest
import trio
import trio.testing

from tests.faults.support import BOUND_S, assert_engine_matches_ledger, on_first, rows_with
from tests.scenarios.test_end_to_end import below_market, engine
from trio_fapi import OrderRequest, OrderStatus
from trio_fapi.actors.executor import Executor
from trio_fapi.protocol.messages import OrderSnapshot
from trio_fapi.sim import FaultKind, FaultPlan, SimHandle, default_config


@asynccontextmanager
async def engine_on(plan: FaultPlan | None) -> AsyncIterator[tuple[SimHandle, Executor]]:
    """An executor on a still market; ``plan`` is set once the executor has started."""
    async with engine(default_config(seed=1).still_market()) as (sim, ex):
        sim.set_faults(plan)
        yield sim, ex


def assert_matches_ledger(sim: SimHandle, order: OrderSnapshot) -> None:
    """Exactly one order for the intent, the engine says what the ledger says, same venue id."""
    assert_engine_matches_ledger(sim, order)
    (row,) = rows_with(sim, order.client_order_id.value)
    assert order.venue_order_id is not None
    assert order.venue_order_id.value == row["orderId"]


APPLIED_FAULTS = [FaultKind.LOST, FaultKind.UNKNOWN_503, FaultKind.CORRUPT, FaultKind.DELAY]


class TestAppliedButUnanswered:
    """Rows 8, 13, 15, 19: the exchange placed the order; the engine must find it, not resend."""

    @pytest.mark.parametrize("kind", APPLIED_FAULTS, ids=lambda k: k.value)
    async def test_resting_limit(
        self, kind: FaultKind, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine_on(on_first(kind)) as (sim, ex):
            with trio.fail_after(BOUND_S):
                price = await below_market(ex)
                order = await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
            assert order.status is OrderStatus.NEW
            assert_matches_ledger(sim, order)
            (fault,) = sim.injected_faults()
            assert (fault.kind, fault.client_order_id) == (kind, order.client_order_id.value)
            assert sim.stats()["orders_accepted"] == 1

    @pytest.mark.parametrize("kind", [FaultKind.LOST, FaultKind.UNKNOWN_503], ids=lambda k: k.value)
    async def test_market_order_that_filled(
        self, kind: FaultKind, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine_on(on_first(kind)) as (sim, ex):
            with trio.fail_after(BOUND_S):
                order = await ex.place_order(OrderRequest.market("BTCUSDT", "BUY", "0.010"))
            assert order.status is OrderStatus.FILLED
            assert_matches_ledger(sim, order)

    async def test_unknown_then_query_lag(self, autojump_clock: trio.testing.MockClock) -> None:
        """Row 33 on top of row 8: "no such order" inside the lag is not proof of absence."""
        plan = FaultPlan(steps=on_first(FaultKind.UNKNOWN_503).steps, query_lag_ms=2_000)
        async with engine_on(plan) as (sim, ex):
            with trio.fail_after(BOUND_S):
                price = await below_market(ex)
                order = await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
            assert order.status is OrderStatus.NEW
            assert_matches_ledger(sim, order)


class TestNeverArrived:
    """Row 14: a dropped placement is safe to send again, and lands once."""

    async def test_dropped_placement_is_retried_once(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine_on(on_first(FaultKind.DROP)) as (sim, ex):
            with trio.fail_after(BOUND_S):
                price = await below_market(ex)
                order = await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
            assert order.status is OrderStatus.NEW
            assert_matches_ledger(sim, order)
            assert [f.kind for f in sim.injected_faults()] == [FaultKind.DROP]


class TestFillRacingTheCancel:
    """Row 32: the cancel meets -2011 because the order just filled; the engine reports FILLED."""

    async def test_cancel_reports_the_fill(self, autojump_clock: trio.testing.MockClock) -> None:
        race = on_first(FaultKind.CANCEL_RACE, "DELETE")
        async with engine_on(None) as (sim, ex):
            with trio.fail_after(BOUND_S):
                price = await below_market(ex)
                placed = await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
                sim.set_faults(race)
                final = await ex.cancel_order("BTCUSDT", placed.client_order_id)
            assert final.status is OrderStatus.FILLED
            assert final.executed_qty == Decimal("0.002")
            assert_matches_ledger(sim, final)
            assert [f.kind for f in sim.injected_faults()] == [FaultKind.CANCEL_RACE]


class TestClockSkew:
    """Row 22: the exchange's clock jumps ahead after the engine measured it."""

    async def test_placement_survives_a_clock_jump(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine_on(FaultPlan(skew_ms=8_000)) as (sim, ex):
            with trio.fail_after(BOUND_S):
                price = await below_market(ex)
                order = await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
            assert_matches_ledger(sim, order)


RANDOM_PLAN = FaultPlan(
    p_drop=0.1,
    p_lost=0.1,
    p_503_unknown=0.1,
    p_delay=0.05,
    p_corrupt=0.05,
    p_cancel_race=0.1,
    delay_s=15.0,
)


class TestSeededSchedules:
    """Random faults, a heal phase, then the ledger and the engine must agree (I1, I2, I3)."""

    @pytest.mark.parametrize("seed", range(5))
    async def test_place_and_cancel_under_random_faults(
        self, seed: int, autojump_clock: trio.testing.MockClock
    ) -> None:
        intents = 12
        answers: dict[str, list[OrderSnapshot | Exception]] = {}

        async def trade(ex: Executor, i: int, base: Decimal) -> None:
            client_id = f"intent-{i}"
            replies = answers.setdefault(client_id, [])
            request = OrderRequest.limit(
                "BTCUSDT", "BUY", "0.002", base - i, client_order_id=client_id
            )
            try:
                placed = await ex.place_order(request)
            except Exception as exc:  # a definitive failure is an answer too
                replies.append(exc)
                return
            replies.append(placed)
            if i % 2:
                try:
                    replies.append(await ex.cancel_order("BTCUSDT", placed.client_order_id))
                except Exception as exc:
                    replies.append(exc)

        async with engine_on(attrs.evolve(RANDOM_PLAN, seed=seed)) as (sim, ex):
            with trio.fail_after(BOUND_S):
                base = await below_market(ex)
                async with trio.open_nursery() as nursery:
                    for i in range(intents):
                        nursery.start_soon(trade, ex, i, base)
            sim.set_faults(None)  # heal, then give polling time to reconcile
            await trio.sleep(30)
            assert sim.injected_faults()
            for i in range(intents):
                replies = answers[f"intent-{i}"]
                placed = isinstance(replies[0], OrderSnapshot)
                assert len(replies) == (2 if placed and i % 2 else 1)
            known = {s.client_order_id.value: s for s in ex.orders()}
            for client_id in answers:
                rows = rows_with(sim, client_id)
                assert len(rows) <= 1, client_id
                if rows:
                    assert_matches_ledger(sim, known[client_id])
