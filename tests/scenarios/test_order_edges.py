"""Edges of the order actor: own ids found at once, modify on a done order, halts raised fresh."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.faults.support import BOUND_S, ORDER_PATH, open_engine, resting_buy
from tests.scenarios.test_halt import open_then_halt, refuse_key
from trio_fapi import OrderStatus
from trio_fapi.protocol.errors import InvalidCombination, TradingHalted
from trio_fapi.protocol.messages import OrderSnapshot


class TestOwnClientIds:
    async def test_a_cancel_sent_right_behind_the_placement_finds_the_order(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The record of a caller's own id exists as soon as the placement is taken.

        The cancel is queued right behind the placement, before the placement
        job has run: it must find the order (and wait for it to settle), not
        answer NotFound.
        """
        async with open_engine() as rig:
            request = await resting_buy(rig.ex, client_order_id="mine-1")
            answers: dict[str, OrderSnapshot] = {}

            async def place() -> None:
                answers["place"] = await rig.ex.place_order(request)

            async def cancel() -> None:
                answers["cancel"] = await rig.ex.cancel_order("BTCUSDT", "mine-1")

            with trio.fail_after(BOUND_S):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(place)
                    await trio.testing.wait_all_tasks_blocked()
                    nursery.start_soon(cancel)
            assert answers["place"].status is OrderStatus.NEW
            assert answers["cancel"].status is OrderStatus.CANCELED


class TestModifyingADoneOrder:
    async def test_a_canceled_order_is_not_modified_and_nothing_is_sent(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            order = await rig.ex.place_order(await resting_buy(rig.ex))
            await rig.ex.cancel_order("BTCUSDT", order.client_order_id)
            assert order.price is not None
            with pytest.raises(InvalidCombination) as caught:
                await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity="0.003", price=order.price
                )
            assert "CANCELED" in str(caught.value)
            assert rig.tap.count("PUT", ORDER_PATH) == 0


class TestHaltRaisesFresh:
    async def test_each_refusal_is_a_new_exception_object(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Raising one shared exception again and again would chain its tracebacks."""
        async with open_engine(rules=refuse_key(nth=2)) as rig:
            await open_then_halt(rig)
            caught: list[TradingHalted] = []
            for ticks in (70, 80):
                with pytest.raises(TradingHalted) as refusal:
                    await rig.ex.place_order(await resting_buy(rig.ex, ticks=ticks))
                caught.append(refusal.value)
            first, second = caught
            assert first is not second
            assert (first.code, first.msg) == (second.code, second.msg)
