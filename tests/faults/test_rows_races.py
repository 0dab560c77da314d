"""Rows 32-36: orders racing the exchange.

A cancel, a query or a modification travels while the order keeps living on
the exchange: it fills, it is not visible yet, the answer is lost. The engine
must end with the exchange's truth (I3), apply every fill exactly once (I4),
move only along the state table (I5), and answer the strategy exactly once (I2).
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
import trio
import trio.testing

from trio_fapi import OrderRequest, OrderStatus
from trio_fapi.protocol.messages import CancelRejected, OrderFilled, OrderSnapshot
from trio_fapi.sim import FaultKind, FaultPlan, FaultStep

from .support import (
    BOUND_S,
    ORDER_PATH,
    UNKNOWN_503,
    Answer,
    Fail,
    Recorder,
    Rig,
    Rule,
    assert_engine_matches_ledger,
    assert_found_not_resent,
    final_state,
    on_first,
    open_engine,
    place_settled,
    record_events,
    resting_buy,
)

NEW, FILLED, CANCELED = OrderStatus.NEW, OrderStatus.FILLED, OrderStatus.CANCELED
OPEN = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
CANCEL_RACE = FaultStep(fault=FaultKind.CANCEL_RACE, method="DELETE", path=ORDER_PATH)
#: Enough lost look-ups to exhaust one query's retries (NOT_SENT is retried).
LOST_LOOKUPS = FaultStep(fault=FaultKind.DROP, method="GET", path=ORDER_PATH, times=8)


async def assert_not_reopened_then_filled(
    rig: Rig, rec: Recorder, order: OrderSnapshot, answer: OrderSnapshot
) -> None:
    """``order``'s cancel lost the race to a fill: never reopened, then FILLED by polling.

    ``answer`` (the cancel's reply) is not an open status, no refused cancel was
    published, and once the faults have passed the engine agrees with the ledger.
    """
    assert answer.status not in OPEN
    cid = order.client_order_id.value
    assert not any(isinstance(e, CancelRejected) for e in rec.of(cid))
    await trio.sleep(30)  # heal: the look-ups get through, polling reconciles
    assert final_state(rig.ex, cid).status is FILLED
    assert_engine_matches_ledger(rig.sim, final_state(rig.ex, cid))


class TestRow32FillRacingTheCancel:
    """The cancel meets -2011 because the order filled a moment earlier."""

    async def test_the_cancel_reports_the_fill(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 32: not a failed cancel: one reply, FILLED with the exchange's quantity (I2, I3)."""
        async with open_engine() as rig, record_events(rig.ex) as rec:
            order = await rig.ex.place_order(await resting_buy(rig.ex))
            rig.sim.set_faults(FaultPlan.scripted(CANCEL_RACE))
            with trio.fail_after(BOUND_S):
                final = await rig.ex.cancel_order("BTCUSDT", order.client_order_id)
            assert final.status is FILLED
            assert final.executed_qty == Decimal("0.002")
            assert_engine_matches_ledger(rig.sim, final)
            events = rec.of(order.client_order_id.value)
            fills = [e for e in events if isinstance(e, OrderFilled)]
            assert sum(e.last_qty for e in fills) == Decimal("0.002")  # applied once (I4)
            assert not any(isinstance(e, CancelRejected) and e.order.status in OPEN for e in events)

    async def test_a_lost_look_up_is_not_read_as_a_refused_cancel(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 32: -2011 and then no answer to the query: the order is never reopened.

        The engine may not know yet that the order filled, but -2011 says it is
        no longer open: it must not claim the cancel was refused and the order
        is still working. Polling then finds FILLED.
        """
        async with open_engine(poll_interval_s=1.0) as rig, record_events(rig.ex) as rec:
            order = await rig.ex.place_order(await resting_buy(rig.ex))
            rig.sim.set_faults(FaultPlan.scripted(CANCEL_RACE, LOST_LOOKUPS))
            with trio.fail_after(BOUND_S):
                answer = await rig.ex.cancel_order("BTCUSDT", order.client_order_id)
            await assert_not_reopened_then_filled(rig, rec, order, answer)

    async def test_a_race_on_a_young_order_is_not_read_as_a_refused_cancel(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 32: -2011, then "no such order" from a lagging query (row 33 on top).

        The order is so young that the exchange's query endpoint does not show it
        yet. Neither answer says the order is still open, so the engine must not
        publish a refused cancel or reopen the order; once the lag has passed,
        polling finds it FILLED.
        """
        plan = FaultPlan(steps=(CANCEL_RACE,), query_lag_ms=5_000)
        async with open_engine(poll_interval_s=1.0) as rig, record_events(rig.ex) as rec:
            request = await resting_buy(rig.ex)
            order = await rig.ex.place_order(request)
            rig.sim.set_faults(plan)
            with trio.fail_after(BOUND_S):
                answer = await rig.ex.cancel_order("BTCUSDT", order.client_order_id)
            await assert_not_reopened_then_filled(rig, rec, order, answer)

    async def test_the_answer_is_terminal_even_when_the_first_look_up_is_lost(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 32: the strategy's one reply to the cancel is the terminal FILLED."""
        async with open_engine() as rig:
            order = await rig.ex.place_order(await resting_buy(rig.ex))
            rig.sim.set_faults(FaultPlan.scripted(CANCEL_RACE, LOST_LOOKUPS))
            with trio.fail_after(BOUND_S):
                answer = await rig.ex.cancel_order("BTCUSDT", order.client_order_id)
            assert answer.status is FILLED


class TestRow33QueryLag:
    """The order exists, but ``GET /fapi/v1/order`` says -2013 for a while."""

    async def test_lag_is_not_proof_of_absence(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 33: an unknown placement stays UNKNOWN through the lag, then is found (I8)."""
        plan = FaultPlan(steps=on_first(FaultKind.LOST).steps, query_lag_ms=6_000)
        async with open_engine(plan=plan) as rig, record_events(rig.ex) as rec:
            order = await place_settled(rig, await resting_buy(rig.ex))
            assert_found_not_resent(rig, order, rec)
            lagged = [f for f in rig.sim.injected_faults() if f.kind is FaultKind.QUERY_LAG]
            assert lagged  # the engine really was told "no such order" first

    async def test_a_query_inside_the_lag_changes_nothing(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 33: a strategy's query answered -2013 does not make a live order disappear."""
        async with open_engine(plan=FaultPlan(query_lag_ms=5_000)) as rig:
            order = await rig.ex.place_order(await resting_buy(rig.ex))
            with trio.fail_after(BOUND_S):
                queried = await rig.ex.query_order("BTCUSDT", order.client_order_id)
            assert queried.status is NEW
            await trio.sleep(10)
            assert_engine_matches_ledger(rig.sim, final_state(rig.ex, order.client_order_id.value))


CANCEL_FAULTS = {
    "503-applied": (on_first(FaultKind.UNKNOWN_503, "DELETE"), ()),
    "lost-applied": (on_first(FaultKind.LOST, "DELETE"), ()),
    "timeout-applied": (on_first(FaultKind.DELAY, "DELETE", delay_s=30.0), ()),
    "503-not-applied": (
        None,
        (
            Rule(
                action=Answer(status=503, body=UNKNOWN_503, apply=False),
                method="DELETE",
                path=ORDER_PATH,
            ),
        ),
    ),
    "reset-not-applied": (
        None,
        (
            Rule(
                action=Fail(error=lambda r: httpx.ReadError("reset", request=r), apply=False),
                method="DELETE",
                path=ORDER_PATH,
            ),
        ),
    ),
}


class TestRow34CancelWithUnknownOutcome:
    """The cancel's answer is a 503 "Unknown error", a reset or a timeout."""

    @pytest.mark.parametrize("case", sorted(CANCEL_FAULTS))
    async def test_resolved_to_the_exchange_state(
        self, case: str, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 34: a second cancel is harmless; the order ends CANCELED once, as on the ledger."""
        plan, rules = CANCEL_FAULTS[case]
        async with open_engine() as rig, record_events(rig.ex) as rec:
            order = await rig.ex.place_order(await resting_buy(rig.ex))
            rig.sim.set_faults(plan)
            rig.tap.script(*rules)
            with trio.fail_after(BOUND_S):
                final = await rig.ex.cancel_order("BTCUSDT", order.client_order_id)
            assert final.status is CANCELED
            assert_engine_matches_ledger(rig.sim, final)
            assert rec.statuses(order.client_order_id.value).count(CANCELED) == 1
            assert rig.tap.count("DELETE", ORDER_PATH) >= 1


class TestRow35PartialFillThenCancel:
    async def test_canceled_with_the_filled_quantity(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 35: CANCELED with executedQty > 0; the fill seen once; one terminal reply (I4)."""
        async with open_engine() as rig, record_events(rig.ex) as rec:
            book = await rig.ex.book_ticker("BTCUSDT")
            ask = book.ask_price
            # Only 0.001 is offered at the ask: the BUY takes it and rests for the rest.
            rig.sim.set_book("BTCUSDT", [(book.bid_price, Decimal(2))], [(ask, Decimal("0.001"))])
            order = await rig.ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.005", ask))
            rig.sim.set_price("BTCUSDT", ask + 100)  # the market leaves: no more fills
            assert order.status is OrderStatus.PARTIALLY_FILLED
            with trio.fail_after(BOUND_S):
                final = await rig.ex.cancel_order("BTCUSDT", order.client_order_id)
            assert final.status is CANCELED
            assert final.executed_qty == Decimal("0.001")
            assert_engine_matches_ledger(rig.sim, final)
            fills = [e for e in rec.of(order.client_order_id.value) if isinstance(e, OrderFilled)]
            assert [e.last_qty for e in fills] == [Decimal("0.001")]
            (position,) = [p for p in await rig.ex.positions("BTCUSDT") if p.amount != 0]
            assert position.amount == Decimal("0.001")


class TestRow36ModifyRacingAFill:
    """``PUT /fapi/v1/order`` while the order fills."""

    async def test_modify_after_the_fill_reports_the_fill(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 36: the order filled before the modify arrived: FILLED, no double count (I3, I4)."""
        async with open_engine(poll_interval_s=3600) as rig:
            order = await rig.ex.place_order(await resting_buy(rig.ex))
            assert order.price is not None
            rig.sim.set_price("BTCUSDT", order.price - 100)  # it fills on the exchange
            with trio.fail_after(BOUND_S):
                final = await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity="0.003", price=order.price
                )
            assert final.status is FILLED
            assert final.executed_qty == Decimal("0.002")
            assert_engine_matches_ledger(rig.sim, final)

    async def test_modify_after_a_partial_fill_keeps_the_fill(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 36: the modification applies to what is left; the earlier fill is kept once."""
        async with open_engine() as rig:
            book = await rig.ex.book_ticker("BTCUSDT")
            ask = book.ask_price
            rig.sim.set_book("BTCUSDT", [(book.bid_price, Decimal(2))], [(ask, Decimal("0.001"))])
            order = await rig.ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.005", ask))
            rig.sim.set_price("BTCUSDT", ask + 100)
            with trio.fail_after(BOUND_S):
                final = await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity="0.004", price=ask
                )
            assert final.status is OrderStatus.PARTIALLY_FILLED
            assert final.executed_qty == Decimal("0.001")
            assert_engine_matches_ledger(rig.sim, final)
