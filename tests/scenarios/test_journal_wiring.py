"""The executor and its intent journal (``ExecutorConfig.journal_path``).

Every placement and modification is on disk before it is sent, its outcome is
noted as it becomes known, client order id sequences continue across runs of
one session, and a journal that cannot be written stops the order before the
wire (faults.md rows 49-50).

Real clock: the journal works in a worker thread, which the autojump clock
takes for idleness (faults.md part d, item 1).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest
import trio

from tests.faults.support import (
    NEW_ORDER,
    ORDER_PATH,
    STILL,
    Tap,
    assert_engine_matches_ledger,
    final_state,
    open_engine,
    resting_buy,
)
from tests.scenarios.test_end_to_end import config_for, ledger_orders
from trio_fapi import OrderRequest, OrderStatus, open_executor
from trio_fapi.actors.executor import Executor
from trio_fapi.actors.journal import Journal
from trio_fapi.protocol.ids import ClientOrderId
from trio_fapi.protocol.journal_records import (
    IntentKind,
    IntentState,
    JournaledIntent,
    JournalUnavailable,
)
from trio_fapi.protocol.messages import OrderSnapshot
from trio_fapi.sim import open_sim

#: Real seconds; every wait below is bounded by this.
BOUND_S = 20.0
NEW, FILLED = OrderStatus.NEW, OrderStatus.FILLED


def journal_of(ex: Executor) -> Journal:
    journal = ex.journal
    assert journal is not None
    return journal


async def wait_for(check: Callable[[], Awaitable[bool]], *, timeout_s: float = BOUND_S) -> None:
    """Poll ``check`` every 50 ms until it holds (journal notes are written in the background)."""
    with trio.fail_after(timeout_s):
        while True:
            if await check():
                return
            await trio.sleep(0.05)


async def intents(ex: Executor, order: OrderSnapshot) -> list[JournaledIntent]:
    return await journal_of(ex).find(order.client_order_id)


def seq_of(cid: ClientOrderId) -> int:
    """The sequence number a derived id ends with (hex)."""
    return int(cid.value.rsplit(".", 1)[1], 16)


class TestPlacement:
    async def test_intent_written_then_acknowledged_then_terminal(self, tmp_path: Path) -> None:
        async with open_engine(journal_path=str(tmp_path / "j.sqlite"), poll_interval_s=0.1) as rig:
            near = await rig.ex.place_order(await resting_buy(rig.ex, ticks=5))
            far = await rig.ex.place_order(await resting_buy(rig.ex, ticks=2000))
            for order in (near, far):
                (placed,) = await intents(rig.ex, order)
                assert placed.intent.kind is IntentKind.PLACE
                assert placed.intent.strategy == "default"
                params = dict(placed.intent.params)
                assert params["newClientOrderId"] == order.client_order_id.value
                assert Decimal(params["price"]) == order.price
                # Read back, the journaled parameters are the request that was sent.
                back = OrderRequest.from_params(params)
                assert (back.price, back.quantity) == (order.price, order.quantity)

            async def acknowledged() -> bool:
                (placed,) = await intents(rig.ex, far)
                return placed.state is IntentState.ACKNOWLEDGED

            await wait_for(acknowledged)
            assert near.price is not None
            rig.sim.set_price("BTCUSDT", near.price - Decimal(10))  # fills `near`

            async def terminal() -> bool:
                (placed,) = await intents(rig.ex, near)
                return placed.state is IntentState.TERMINAL

            await wait_for(terminal)
            (placed,) = await intents(rig.ex, near)
            assert placed.status is FILLED
            assert placed.venue_order_id == near.venue_order_id
            assert final_state(rig.ex, near.client_order_id.value).status is FILLED
            (still_open,) = await intents(rig.ex, far)
            assert still_open.state is IntentState.ACKNOWLEDGED
            unsettled = {i.intent.client_order_id for i in await journal_of(rig.ex).non_terminal()}
            assert unsettled == {far.client_order_id}

    async def test_a_market_order_is_terminal_at_once(self, tmp_path: Path) -> None:
        async with open_engine(journal_path=str(tmp_path / "j.sqlite")) as rig:
            order = await rig.ex.place_order(OrderRequest.market("BTCUSDT", "BUY", "0.002"))
            assert order.status is FILLED

            async def terminal() -> bool:
                (placed,) = await intents(rig.ex, order)
                return placed.state is IntentState.TERMINAL and placed.status is FILLED

            await wait_for(terminal)

    async def test_batch_placements_are_journaled_each(self, tmp_path: Path) -> None:
        async with open_engine(journal_path=str(tmp_path / "j.sqlite")) as rig:
            requests = [await resting_buy(rig.ex, ticks=50 + i) for i in range(3)]
            results = await rig.ex.place_orders(requests)
            for result in results:
                assert isinstance(result, OrderSnapshot)
                (placed,) = await intents(rig.ex, result)
                assert placed.intent.kind is IntentKind.PLACE


class TestModification:
    async def test_a_modification_writes_a_modify_intent(self, tmp_path: Path) -> None:
        async with open_engine(journal_path=str(tmp_path / "j.sqlite")) as rig:
            order = await rig.ex.place_order(await resting_buy(rig.ex))
            assert order.price is not None
            price = order.price - Decimal(1)
            modified = await rig.ex.modify_order(
                "BTCUSDT", order.client_order_id, quantity="0.003", price=price
            )
            assert (modified.price, modified.quantity) == (price, Decimal("0.003"))

            async def modify_noted() -> bool:
                found = await intents(rig.ex, order)
                return [i.intent.kind for i in found] == [
                    IntentKind.PLACE,
                    IntentKind.MODIFY,
                ] and found[1].state is not IntentState.WRITTEN

            await wait_for(modify_noted)
            _, modify = await intents(rig.ex, order)
            params = dict(modify.intent.params)
            assert params["origClientOrderId"] == order.client_order_id.value
            assert (Decimal(params["price"]), Decimal(params["quantity"])) == (
                price,
                Decimal("0.003"),
            )
            assert modify.state in (IntentState.ACKNOWLEDGED, IntentState.TERMINAL)
            assert_engine_matches_ledger(rig.sim, modified)

    async def test_nothing_stays_unsettled_once_the_order_is_done(self, tmp_path: Path) -> None:
        async with open_engine(journal_path=str(tmp_path / "j.sqlite")) as rig:
            order = await rig.ex.place_order(await resting_buy(rig.ex))
            assert order.price is not None
            await rig.ex.modify_order(
                "BTCUSDT", order.client_order_id, quantity="0.003", price=order.price - 1
            )
            canceled = await rig.ex.cancel_order("BTCUSDT", order.client_order_id)
            assert canceled.status is OrderStatus.CANCELED

            async def all_settled() -> bool:
                found = await intents(rig.ex, order)
                return bool(found) and all(i.state is IntentState.TERMINAL for i in found)

            await wait_for(all_settled)
            states = [i.state for i in await intents(rig.ex, order)]
            assert states == [IntentState.TERMINAL, IntentState.TERMINAL]
            assert await journal_of(rig.ex).non_terminal() == []


class TestSequencesAcrossRuns:
    async def test_a_second_run_continues_above_the_first(self, tmp_path: Path) -> None:
        path = str(tmp_path / "j.sqlite")
        runs: list[list[ClientOrderId]] = []
        async with open_sim(STILL) as sim:
            config = config_for(sim, session="same", journal_path=path)
            for _ in range(2):
                async with open_executor(config, transport=sim.transport) as ex:
                    assert ex.session == "same"
                    placed = [
                        await ex.place_order(await resting_buy(ex, ticks=50 + i)) for i in range(3)
                    ]
                    runs.append([o.client_order_id for o in placed])
            first, second = runs
            assert not set(first) & set(second)
            assert min(seq_of(c) for c in second) > max(seq_of(c) for c in first)
            assert len(ledger_orders(sim)) == 6


class TestJournalUnavailable:
    @pytest.fixture
    def broken(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        """Every ``record_intent`` fails as a full or vanished disk would."""
        calls: list[str] = []

        async def record_intent(self: Journal, **fields: object) -> JournaledIntent:
            calls.append(str(fields["kind"]))
            raise JournalUnavailable(reason="disk I/O error (injected)")

        monkeypatch.setattr(Journal, "record_intent", record_intent)
        return calls

    async def test_the_order_is_refused_and_nothing_sent(
        self, tmp_path: Path, broken: list[str]
    ) -> None:
        async with open_engine(journal_path=str(tmp_path / "j.sqlite")) as rig:
            request = await resting_buy(rig.ex)
            with trio.fail_after(BOUND_S), pytest.raises(JournalUnavailable):
                await rig.ex.place_order(request)
            assert broken == [IntentKind.PLACE.value]
            assert rig.posts() == 0
            assert ledger_orders(rig.sim) == []
            (order,) = rig.ex.orders()
            assert order.status is OrderStatus.REJECTED

    async def test_a_batch_is_refused_item_by_item_and_nothing_sent(
        self, tmp_path: Path, broken: list[str]
    ) -> None:
        async with open_engine(journal_path=str(tmp_path / "j.sqlite")) as rig:
            requests = [await resting_buy(rig.ex, ticks=50 + i) for i in range(3)]
            with trio.fail_after(BOUND_S):
                results = await rig.ex.place_orders(requests)
            assert [type(r) for r in results] == [JournalUnavailable] * 3
            assert rig.tap.count("POST", "/fapi/v1/batchOrders") == 0
            assert ledger_orders(rig.sim) == []

    async def test_a_modification_is_refused_and_nothing_sent(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async with open_engine(journal_path=str(tmp_path / "j.sqlite")) as rig:
            order = await rig.ex.place_order(await resting_buy(rig.ex))
            assert order.price is not None

            async def refuse(self: Journal, **fields: object) -> JournaledIntent:
                raise JournalUnavailable(reason="disk I/O error (injected)")

            monkeypatch.setattr(Journal, "record_intent", refuse)
            with trio.fail_after(BOUND_S), pytest.raises(JournalUnavailable):
                await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity="0.003", price=order.price - 1
                )
            assert rig.tap.count("PUT", ORDER_PATH) == 0
            now = final_state(rig.ex, order.client_order_id.value)
            assert (now.status, now.price, now.quantity) == (NEW, order.price, order.quantity)

    async def test_trading_goes_on_once_the_journal_works_again(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        original = Journal.record_intent
        failures = [1]

        async def flaky(self: Journal, **fields: object) -> JournaledIntent:
            if failures:
                failures.pop()
                raise JournalUnavailable(reason="disk I/O error (injected)")
            return await original(self, **fields)  # type: ignore[arg-type]

        async with open_sim(STILL) as sim:
            tap = Tap(sim.transport)
            config = config_for(sim, journal_path=str(tmp_path / "j.sqlite"))
            async with open_executor(config, transport=tap) as ex:
                monkeypatch.setattr(Journal, "record_intent", flaky)
                with pytest.raises(JournalUnavailable):
                    await ex.place_order(await resting_buy(ex))
                order = await ex.place_order(await resting_buy(ex, ticks=60))
                assert order.status is NEW
                assert tap.count(*NEW_ORDER) == 1
                (placed,) = await journal_of(ex).find(order.client_order_id)
                assert placed.intent.kind is IntentKind.PLACE
