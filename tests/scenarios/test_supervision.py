"""Supervision of the symbol actors: restart a crashed one, up to a limit.

A crash inside one symbol's order actor is survived ``max_actor_restarts``
times: the successor takes over the orders and reconciles them, and other
symbols never notice (faults.md row 46, I11). One crash more stops the
executor, and the crash surfaces from ``open_executor`` as itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial

import pytest
import trio
import trio.testing

from tests.faults.support import (
    BOUND_S,
    NEW_ORDER,
    STILL,
    Reply,
    assert_engine_matches_ledger,
    final_state,
    open_engine,
    reply_of,
    resting_buy,
)
from tests.scenarios.test_end_to_end import config_for, ledger_orders
from trio_fapi import OrderStatus, open_executor
from trio_fapi.actors.executor import Executor
from trio_fapi.actors.order_record import OrderRecord
from trio_fapi.actors.symbol_actor import SymbolStatistics
from trio_fapi.protocol.errors import OutcomeUnknown
from trio_fapi.sim import open_sim

NEW = OrderStatus.NEW


class InjectedCrash(RuntimeError):
    """A bug inside the BTCUSDT order actor, put there by the test."""


def crashing(times: int | None, symbol: str = "BTCUSDT") -> tuple[Callable[..., object], list[int]]:
    """An ``apply_report`` that raises the first ``times`` calls on ``symbol`` (every call if None).

    Returns the replacement and a one-item list counting the crashes.
    """
    original = OrderRecord.apply_report
    crashes = [0]

    def apply_report(record: OrderRecord, report: object) -> object:
        if record.request.symbol.value == symbol and (times is None or crashes[0] < times):
            crashes[0] += 1
            raise InjectedCrash(f"injected crash {crashes[0]} inside the {symbol} order actor")
        return original(record, report)  # type: ignore[arg-type]

    return apply_report, crashes


def stats_of(ex: Executor, symbol: str) -> SymbolStatistics:
    (stats,) = [s for s in ex.statistics().symbols if s.symbol == symbol]
    return stats


class TestRestartsLeft:
    async def test_one_crash_is_one_restart_and_other_symbols_are_untouched(
        self, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        crash, crashes = crashing(times=1)
        async with open_engine(max_actor_restarts=2) as rig:
            eth = await rig.ex.place_order(await resting_buy(rig.ex, symbol="ETHUSDT", qty="0.050"))
            eth_requests = len(rig.tap.seen)
            monkeypatch.setattr(OrderRecord, "apply_report", crash)
            with trio.fail_after(BOUND_S), pytest.raises(OutcomeUnknown):
                await rig.ex.place_order(await resting_buy(rig.ex))
            assert crashes == [1]
            after = await rig.ex.place_order(await resting_buy(rig.ex, ticks=60))
            assert after.status is NEW
            await trio.sleep(10)  # the successor reconciles the crashed placement
            assert stats_of(rig.ex, "BTCUSDT").restarts == 1
            assert stats_of(rig.ex, "ETHUSDT").restarts == 0
            for order in rig.ex.orders():
                assert order.status is NEW
                assert_engine_matches_ledger(rig.sim, order)
            assert len(ledger_orders(rig.sim)) == 3
            # ETHUSDT: its order is as it was, and nothing was sent about it since.
            assert final_state(rig.ex, eth.client_order_id.value) == eth
            eth_since = [
                s for s in rig.tap.seen[eth_requests:] if s.params.get("symbol") == "ETHUSDT"
            ]
            assert [s.path for s in eth_since if s.method != "GET"] == []

    async def test_the_successor_serves_the_strategies_waiting_in_the_inbox(
        self, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Orders queued behind the crash are placed by the successor, each answered once (I2)."""
        crash, _ = crashing(times=1)
        async with open_engine(max_actor_restarts=1) as rig:
            requests = [await resting_buy(rig.ex, ticks=50 + i) for i in range(6)]
            monkeypatch.setattr(OrderRecord, "apply_report", crash)
            answers: list[Reply] = []

            async def place(index: int) -> None:
                answers.append(await reply_of(partial(rig.ex.place_order, requests[index])))

            with trio.fail_after(BOUND_S):
                async with trio.open_nursery() as nursery:
                    for index in range(len(requests)):
                        nursery.start_soon(place, index)
            assert len(answers) == 6
            assert all(
                isinstance(a, OutcomeUnknown) or getattr(a, "status", None) is NEW for a in answers
            ), answers
            await trio.sleep(30)  # the successor reconciles what the crash interrupted
            assert stats_of(rig.ex, "BTCUSDT").restarts == 1
            # Jobs cut short by the crash may not have reached the wire: those are
            # proven absent (REJECTED); everything the exchange holds, the engine knows.
            known = {o.client_order_id.value: o for o in rig.ex.orders()}
            assert len(known) == 6
            on_exchange = {str(r["clientOrderId"]) for r in ledger_orders(rig.sim)}
            assert on_exchange <= set(known)
            for cid, order in known.items():
                if cid in on_exchange:
                    assert order.status is NEW
                    assert_engine_matches_ledger(rig.sim, order)
                else:
                    assert order.status is OrderStatus.REJECTED
            sent = [s.client_order_id for s in rig.tap.requests(*NEW_ORDER)]
            assert len(sent) == len(set(sent))  # nothing sent twice


class TestRestartLimit:
    @pytest.mark.parametrize("max_restarts", [0, 2])
    async def test_one_crash_too_many_stops_the_executor(
        self,
        max_restarts: int,
        autojump_clock: trio.testing.MockClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Every successor crashes again while reconciling: the last crash leaves open_executor."""
        crash, crashes = crashing(times=None)
        async with open_sim(STILL) as sim:
            config = config_for(sim, max_actor_restarts=max_restarts)

            async def trade_until_stopped() -> None:
                async with open_executor(config, transport=sim.transport) as ex:
                    eth = await ex.place_order(await resting_buy(ex, symbol="ETHUSDT", qty="0.050"))
                    assert eth.status is NEW
                    monkeypatch.setattr(OrderRecord, "apply_report", crash)
                    with contextlib.suppress(OutcomeUnknown):
                        await ex.place_order(await resting_buy(ex))
                    await trio.sleep_forever()  # the executor stops under us

            with trio.fail_after(BOUND_S), pytest.raises(InjectedCrash):
                await trade_until_stopped()
            assert crashes[0] == max_restarts + 1
            # The exchange still holds what was placed: nothing was lost there.
            statuses = sorted(str(r["status"]) for r in ledger_orders(sim))
            assert statuses == ["NEW", "NEW"]

    async def test_within_the_limit_the_executor_keeps_running(
        self, autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Three crashes, three restarts allowed: still trading afterwards."""
        crash, crashes = crashing(times=3)
        async with open_engine(max_actor_restarts=3) as rig:
            monkeypatch.setattr(OrderRecord, "apply_report", crash)
            with trio.fail_after(BOUND_S), pytest.raises(OutcomeUnknown):
                await rig.ex.place_order(await resting_buy(rig.ex))
            await trio.sleep(30)  # successors crash while reconciling, until the third
            assert crashes == [3]
            assert stats_of(rig.ex, "BTCUSDT").restarts == 3
            order = await rig.ex.place_order(await resting_buy(rig.ex, ticks=60))
            assert order.status is NEW
            for known in rig.ex.orders():
                assert_engine_matches_ledger(rig.sim, known)
