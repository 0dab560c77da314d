"""Rows 45-53: concurrency, life cycle and the process around the engine.

These rows are about what surrounds a single order: strategies that give up,
actors that crash, many strategies on one symbol, full queues, a process that
is killed and restarted, clocks that jump, shutdown, and the storm after an
outage. The invariants that matter most here are I2 (every request answered
exactly once), I7 (nothing leaks) and I11 (one strategy's trouble changes
nothing for another).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing

from tests.scenarios.test_end_to_end import below_market, config_for, ledger_orders
from trio_fapi import OrderRequest, OrderStatus, open_executor
from trio_fapi.actors.executor import Executor
from trio_fapi.actors.order_record import OrderRecord
from trio_fapi.protocol.errors import (
    EngineClosed,
    EngineError,
    NotFound,
    OutcomeUnknown,
    Overloaded,
)
from trio_fapi.protocol.ids import ClientOrderId
from trio_fapi.protocol.messages import OrderSnapshot
from trio_fapi.sim import SIGNED_ROUTES, FaultKind, FaultPlan, SimHandle, open_sim

from .support import (
    BOUND_S,
    NEW_ORDER,
    STILL,
    Reply,
    Seen,
    Tap,
    assert_engine_matches_ledger,
    errors_by_code,
    final_state,
    live_engine_tasks,
    on_first,
    open_engine,
    reply_of,
    resting_buy,
    rows_with,
)

NEW, CANCELED = OrderStatus.NEW, OrderStatus.CANCELED


def assert_no_lost_orders(ex: Executor, sim: SimHandle) -> None:
    """I1 and I3 both ways: every ledger order is known to the engine, once, and agrees with it."""
    known = {o.client_order_id.value: o for o in ex.orders()}
    rows = ledger_orders(sim)
    for cid in (str(r["clientOrderId"]) for r in rows):
        assert cid in known, f"{cid} is on the exchange but the engine lost it"
        (row,) = [r for r in rows if r["clientOrderId"] == cid]
        assert known[cid].status.value == row["status"]
        assert known[cid].executed_qty == Decimal(str(row["executedQty"]))


class TestRow45StrategyCancelledInFlight:
    """The strategy's task is cancelled while its order is on the way."""

    @pytest.mark.parametrize(
        "give_up_after_s", [0.0, 0.5, 12.0], ids=["before-send", "in-flight", "while-unknown"]
    )
    async def test_the_order_settles_without_its_strategy(
        self, give_up_after_s: float, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 45: the actor owns the order; it settles and is recorded anyway (I2, I3, I11).

        The placement's answer is stalled past the engine's deadline, so the
        strategy can leave before the send, while the request is in flight, or
        while the unknown outcome is being resolved. Another strategy trading at
        the same time is not disturbed, and the actor keeps serving.
        """
        stalled = on_first(FaultKind.DELAY, symbol="BTCUSDT", delay_s=20.0)
        # Queries lag too, so resolving the unknown outcome takes a while.
        plan = FaultPlan(steps=stalled.steps, delay_s=20.0, query_lag_ms=15_000)
        async with open_engine(plan=plan) as rig:
            quitter = rig.ex.strategy("quitter")
            calm = rig.ex.strategy("calm")
            request = await resting_buy(rig.ex)
            other = await resting_buy(rig.ex, symbol="ETHUSDT", qty="0.050")
            calm_answers: list[OrderSnapshot] = []

            async def calm_trades() -> None:
                calm_answers.append(await calm.place(other))

            with trio.fail_after(BOUND_S):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(calm_trades)
                    with trio.move_on_after(give_up_after_s) as scope:
                        await quitter.place(request)
                    assert scope.cancelled_caught
                await trio.sleep(40)  # long enough to settle: the answer, then evidence
                later = await quitter.place(await resting_buy(rig.ex, ticks=60))
            assert later.status is NEW
            assert [a.status for a in calm_answers] == [NEW]
            assert_no_lost_orders(rig.ex, rig.sim)
            sent = [s.client_order_id for s in rig.tap.requests(*NEW_ORDER)]
            assert len(sent) == len(set(sent))  # nothing was sent twice


class TestRow46ActorCrash:
    async def test_a_crashed_symbol_actor_is_restarted_and_others_continue(
        self, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Row 46: outstanding requests get UNKNOWN (not REJECTED); ETHUSDT is untouched (I11)."""
        original = OrderRecord.apply_report
        armed = [True]

        def crash_once(record: OrderRecord, report: object) -> object:
            if armed and record.request.symbol.value == "BTCUSDT":
                armed.clear()
                raise RuntimeError("injected crash inside the BTCUSDT order actor")
            return original(record, report)  # type: ignore[arg-type]

        async with open_engine() as rig:
            eth = await rig.ex.place_order(await resting_buy(rig.ex, symbol="ETHUSDT", qty="0.050"))
            monkeypatch.setattr(OrderRecord, "apply_report", crash_once)
            with trio.fail_after(BOUND_S), pytest.raises(OutcomeUnknown):
                await rig.ex.place_order(await resting_buy(rig.ex))
            again = await rig.ex.place_order(await resting_buy(rig.ex, ticks=60))
            assert again.status is NEW
            await trio.sleep(10)  # the restarted actor reconciles the crashed order
            assert_no_lost_orders(rig.ex, rig.sim)
            assert final_state(rig.ex, eth.client_order_id.value).status is NEW


class TestRow47ManyStrategiesOneSymbol:
    async def test_replies_never_cross_strategies(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 47: the symbol actor serialises; each strategy sees only its own orders (I11)."""
        names = [f"s{i}" for i in range(6)]
        replies: dict[str, list[OrderSnapshot]] = {n: [] for n in names}
        async with open_engine() as rig:
            base = await resting_buy(rig.ex)
            assert base.price is not None
            base_price = base.price

            async def trade(index: int, name: str) -> None:
                handle = rig.ex.strategy(name)
                placed = []
                for k in range(4):
                    price = base_price - Decimal(index * 10 + k)
                    order = await handle.place(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
                    replies[name].append(order)
                    placed.append(order)
                for order in placed[:2]:
                    replies[name].append(await handle.cancel("BTCUSDT", order.client_order_id))

            with trio.fail_after(BOUND_S):
                async with trio.open_nursery() as nursery:
                    for index, name in enumerate(names):
                        nursery.start_soon(trade, index, name)
            for name in names:
                assert {r.strategy for r in replies[name]} == {name}
                assert [r.status for r in replies[name]] == [NEW] * 4 + [CANCELED] * 2
                assert {o.strategy for o in rig.ex.orders(strategy=name)} == {name}
            # One strategy can neither cancel another's order nor take it down with cancel_all.
            victim = replies["s1"][3]
            with pytest.raises(NotFound):
                await rig.ex.cancel_order("BTCUSDT", victim.client_order_id, strategy="s0")
            await rig.ex.cancel_all_orders("BTCUSDT", strategy="s0")
            (row,) = rows_with(rig.sim, victim.client_order_id.value)
            assert row["status"] == "NEW"
            for order in rig.ex.orders():
                assert_engine_matches_ledger(rig.sim, order)


class TestRow48FullQueues:
    async def test_in_flight_bound_refuses_before_any_io(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 48: beyond ``max_in_flight_per_symbol`` the answer is Overloaded, at once, 0 I/O."""
        plan = on_first(FaultKind.DELAY, times=2, delay_s=20.0)
        async with open_engine(plan=plan, max_in_flight_per_symbol=2) as rig:
            requests = [await resting_buy(rig.ex, ticks=50 + i) for i in range(3)]
            answers: list[Reply] = []

            async def place(request: OrderRequest) -> None:
                answers.append(await reply_of(partial(rig.ex.place_order, request)))

            with trio.fail_after(BOUND_S):
                async with trio.open_nursery() as nursery:
                    for request in requests[:2]:
                        nursery.start_soon(place, request)
                    await trio.testing.wait_all_tasks_blocked()
                    start, sent = trio.current_time(), len(rig.tap.seen)
                    with pytest.raises(Overloaded):
                        await rig.ex.place_order(requests[2])
                    assert trio.current_time() == start
                    assert len(rig.tap.seen) == sent
            assert [a.status for a in answers if isinstance(a, OrderSnapshot)] == [NEW, NEW]
            assert rig.posts() == 2

    async def test_a_slow_subscriber_never_stalls_trading(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 48: a subscriber that never reads loses events (counted), orders still flow."""
        async with open_engine() as rig, rig.ex.subscribe(buffer=1) as slow:
            with trio.fail_after(BOUND_S):
                for i in range(20):
                    order = await rig.ex.place_order(await resting_buy(rig.ex, ticks=50 + i))
                    assert order.status is NEW
            assert slow.statistics().current_buffer_used <= 1
            assert rig.ex.statistics().events_dropped > 0


class TestRow49ProcessKilled:
    """The process dies with orders open and a placement in flight, then restarts."""

    async def test_restart_reconciles_before_strategies_and_never_resends(
        self, tmp_path: Path
    ) -> None:
        """Row 49: the journaled in-flight intent is known at start-up, never sent again (I1).

        Real clock: the journal works in a thread, which the autojump clock
        takes for idleness (faults.md part d, item 1).
        """
        journal = str(tmp_path / "intents.sqlite")
        async with open_sim(STILL) as sim:
            tap = Tap(sim.transport)
            # drain_s=0: the first run dies without any clean-up, as under SIGKILL.
            config = config_for(
                sim, session="run", journal_path=journal, deadman=False, drain_s=0.0
            )
            with trio.CancelScope() as kill:
                async with open_executor(config, transport=tap) as ex:
                    request = await resting_buy(ex)
                    sim.set_faults(on_first(FaultKind.DELAY, delay_s=60.0))
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(ex.place_order, request)
                        with trio.fail_after(10):  # real seconds
                            while True:
                                if ledger_orders(sim):  # applied, the answer held back
                                    break
                                await trio.sleep(0.01)
                        kill.cancel()
            (row,) = ledger_orders(sim)
            async with open_executor(config, transport=tap) as ex:
                known = {o.client_order_id.value: o for o in ex.orders()}
                assert list(known) == [row["clientOrderId"]]
                assert known[str(row["clientOrderId"])].status.value == row["status"]
                fresh = await ex.place_order(await resting_buy(ex, ticks=60))
            assert fresh.client_order_id.value != row["clientOrderId"]
            assert tap.count(*NEW_ORDER) == 2

    async def test_a_restart_never_reuses_a_client_order_id(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 49: a restarted engine under the same session places a new order, not the old one."""
        async with open_sim(STILL) as sim:
            config = config_for(sim, session="run")
            async with open_executor(config, transport=sim.transport) as ex:
                old = await ex.place_order(await resting_buy(ex))
            async with open_executor(config, transport=sim.transport) as ex:
                new = await ex.place_order(await resting_buy(ex, ticks=60))
            assert new.client_order_id != old.client_order_id
            assert len(ledger_orders(sim)) == 2


class TestRow50JournalBeforeSend:
    async def test_every_placement_is_journaled_before_it_is_sent(self, tmp_path: Path) -> None:
        """Row 50: at the moment a placement reaches the wire, its intent is already on disk.

        Real clock, as for row 49.
        """
        async with open_engine(journal_path=str(tmp_path / "intents.sqlite")) as rig:
            journal = rig.ex.journal
            assert journal is not None
            written_first: list[bool] = []

            async def check(seen: Seen) -> None:
                if (seen.method, seen.path) == NEW_ORDER and seen.client_order_id is not None:
                    found = await journal.find(ClientOrderId(seen.client_order_id))
                    written_first.append(bool(found))

            rig.tap.on_send = check
            for i in range(3):
                await rig.ex.place_order(await resting_buy(rig.ex, ticks=50 + i))
            assert written_first == [True, True, True]


class TestRow51WallClockSteps:
    @pytest.mark.parametrize("step_s", [3600.0, -3600.0], ids=["forward", "backward"])
    async def test_no_timestamp_storm_and_deadlines_unchanged(
        self,
        step_s: float,
        autojump_clock: trio.testing.MockClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Row 51: an NTP step of the host clock moves neither signed timestamps nor deadlines.

        Signed timestamps come from wall time anchored once to trio's clock, and
        deadlines from trio's clock; a host clock that jumps an hour must cause
        no -1021 at all, and an engine deadline still fires after exactly its
        configured time.
        """
        async with open_engine() as rig:
            request = await resting_buy(rig.ex)
            wall: Callable[[], float] = time.time
            monkeypatch.setattr(time, "time", lambda: wall() + step_s)
            rig.sim.set_faults(on_first(FaultKind.DELAY, delay_s=30.0))
            with trio.fail_after(BOUND_S):
                first = await rig.ex.place_order(request)
                (post,) = rig.tap.requests(*NEW_ORDER)
                took = trio.current_time() - post.time_s
                second = await rig.ex.place_order(await resting_buy(rig.ex, ticks=60))
            assert (first.status, second.status) == (NEW, NEW)
            assert rig.ex.config.request_timeout_s <= took < 30.0
            assert "-1021" not in errors_by_code(rig.sim.stats())


class TestRow52GracefulShutdown:
    """The engine is closed while requests and orders are in flight."""

    async def test_drain_is_bounded_and_leaves_no_task(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 52: shutdown ends within ``drain_s`` though answers are stalled; nothing leaks."""
        async with open_sim(STILL) as sim, trio.open_nursery() as strategies:
            config = config_for(sim, drain_s=2.0)
            async with open_executor(config, transport=sim.transport) as ex:
                sim.set_faults(on_first(FaultKind.DELAY, times=3, delay_s=60.0))
                for i in range(3):
                    request = await resting_buy(ex, ticks=50 + i)
                    strategies.start_soon(_swallow, ex.place_order, request)
                late = await resting_buy(ex, ticks=70)
                await trio.sleep(1)
                closing = trio.current_time()
            assert trio.current_time() - closing <= config.drain_s
            assert live_engine_tasks() == []
            sent = sim.stats()["requests_by_path"]
            with pytest.raises(EngineClosed):
                await ex.place_order(late)
            assert sim.stats()["requests_by_path"] == sent
            strategies.cancel_scope.cancel()

    async def test_every_request_in_flight_gets_one_answer(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 52: requests interrupted by shutdown are answered, UNKNOWN if interrupted (I2)."""
        answers: list[Reply] = []
        all_in = trio.Event()
        async with open_sim(STILL) as sim, trio.open_nursery() as strategies:
            config = config_for(sim, drain_s=2.0)
            async with open_executor(config, transport=sim.transport) as ex:
                sim.set_faults(on_first(FaultKind.DELAY, times=3, delay_s=60.0))
                for i in range(3):
                    request = await resting_buy(ex, ticks=50 + i)
                    strategies.start_soon(_collect, answers, all_in, 3, ex.place_order, request)
                await trio.sleep(1)
            with trio.fail_after(30):
                await all_in.wait()
            assert all(isinstance(a, OutcomeUnknown | EngineClosed) for a in answers)


Place = Callable[[OrderRequest], Awaitable[OrderSnapshot]]


async def _swallow(place: Place, request: OrderRequest) -> None:
    """Run a strategy call whose answer the scenario does not need."""
    with contextlib.suppress(EngineError):
        await place(request)


async def _collect(
    into: list[Reply], all_in: trio.Event, expected: int, place: Place, request: OrderRequest
) -> None:
    """Run a strategy call and keep its answer, success or failure."""
    into.append(await reply_of(partial(place, request)))
    if len(into) == expected:
        all_in.set()


class TestRow53StormAfterAnOutage:
    async def test_jittered_retries_no_throttling_and_consistent_state(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 53: retries are spread out, the limiter provokes no 429/418, nothing is lost (I6).

        Every signed request fails to connect for 20 s while 12 strategies keep
        trying; then the network heals and they all get through. The resting
        orders placed before the outage are reconciled by polling once it ends.
        """
        outage = FaultPlan(p_drop=1.0, routes=SIGNED_ROUTES, seed=5)
        async with open_engine(poll_interval_s=1.0) as rig:
            before = [
                await rig.ex.place_order(await resting_buy(rig.ex, ticks=50 + i)) for i in range(3)
            ]
            base = await below_market(rig.ex, ticks=60)
            rig.sim.set_faults(outage)
            start = trio.current_time()
            placed: list[OrderSnapshot] = []

            async def strategy(index: int) -> None:
                request = OrderRequest.limit("BTCUSDT", "BUY", "0.002", base - index)
                while True:
                    try:
                        placed.append(await rig.ex.place_order(request, strategy=f"s{index}"))
                        return
                    except EngineError:
                        await trio.sleep(2.0)

            with trio.fail_after(BOUND_S):
                async with trio.open_nursery() as nursery:
                    for index in range(12):
                        nursery.start_soon(strategy, index)
                    await trio.sleep(20)
                    rig.sim.set_faults(None)
                await trio.sleep(10)
            outage_posts = [s for s in rig.tap.requests(*NEW_ORDER) if s.time_s < start + 20]
            first_try = {s.client_order_id: s.time_s for s in reversed(outage_posts)}
            retries = sorted(
                s.time_s - first_try[s.client_order_id]
                for s in outage_posts
                if s.time_s > first_try[s.client_order_id]
            )
            assert len(set(retries)) > len(retries) // 2  # jittered, not in lock step
            statuses = rig.sim.stats()["responses_by_status"]
            assert isinstance(statuses, dict)
            assert statuses.get("429", 0) == statuses.get("418", 0) == 0
            assert len(placed) == 12
            for order in [*before, *placed]:
                assert_engine_matches_ledger(
                    rig.sim, final_state(rig.ex, order.client_order_id.value)
                )
