"""The intent journal: written before sending, read back exactly after a restart.

These tests use real SQLite files and worker threads, so they run on the real
clock: under the autojump clock a thread doing real work looks like idleness
(faults.md part d, item 1). Nothing here sleeps.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_fapi.actors.journal import MEMORY, Journal, open_journal
from trio_fapi.protocol.enums import OrderStatus
from trio_fapi.protocol.ids import ClientOrderId, Symbol, VenueOrderId
from trio_fapi.protocol.journal_records import (
    IntentKind,
    IntentState,
    InvalidJournalEntry,
    JournalClosed,
    JournalCorrupt,
    JournaledIntent,
    JournalLocked,
    JournalUnavailable,
    UnknownIntent,
    intent_state_for,
    journal_params,
)
from trio_fapi.protocol.numbers import WIRE_NUMBER

BTC = Symbol("BTCUSDT")
ETH = Symbol("ETHUSDT")
SESSION = "s1"


def _cid(seq: int, strategy: str = "maker", symbol: Symbol = BTC) -> ClientOrderId:
    return ClientOrderId.derive(session=SESSION, strategy=strategy, symbol=symbol, seq=seq)


def _params(cid: ClientOrderId, price: str = "59990.10") -> dict[str, object]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": Decimal("0.010"),
        "price": Decimal(price),
        "newClientOrderId": cid.value,
    }


async def _record(
    journal: Journal,
    cid: ClientOrderId,
    params: Mapping[str, object],
    *,
    kind: IntentKind | str = IntentKind.PLACE,
    strategy: str = "maker",
    sequence: int | None = None,
) -> JournaledIntent:
    return await journal.record_intent(
        session=SESSION,
        strategy=strategy,
        symbol=BTC,
        kind=kind,
        client_order_id=cid,
        params=params,
        sequence=sequence,
    )


async def _place(journal: Journal, seq: int, *, strategy: str = "maker") -> JournaledIntent:
    cid = _cid(seq, strategy)
    return await _record(journal, cid, _params(cid), strategy=strategy, sequence=seq)


class TestRestart:
    """What one process wrote, the next one reads back exactly."""

    async def test_non_terminal_intents_survive_a_restart(self, tmp_path: Path) -> None:
        path = tmp_path / "journal.db"
        async with open_journal(path) as journal:
            written = await _place(journal, 1)
            sent = await _place(journal, 2)
            sent = await journal.record_outcome(sent.intent_id, IntentState.SENT)
            acked = await _place(journal, 3)
            acked = await journal.record_outcome(
                acked.intent_id,
                IntentState.ACKNOWLEDGED,
                status=OrderStatus.NEW,
                venue_order_id=VenueOrderId(4242),
            )
            unknown = await _place(journal, 4)
            unknown = await journal.record_outcome(
                unknown.intent_id, IntentState.UNKNOWN, detail="no answer within 10.000s"
            )
            done = await _place(journal, 5)
            await journal.record_outcome(
                done.intent_id, IntentState.TERMINAL, status=OrderStatus.FILLED, venue_order_id=7
            )
            acked_cid = acked.intent.client_order_id
            cancel = await _record(
                journal,
                acked_cid,
                {"symbol": "BTCUSDT", "origClientOrderId": acked_cid.value},
                kind=IntentKind.CANCEL,
            )
            expected = [written, sent, acked, unknown, cancel]
        async with open_journal(path) as journal:
            assert await journal.non_terminal() == expected

    async def test_outcome_history_survives_a_restart(self, tmp_path: Path) -> None:
        path = tmp_path / "journal.db"
        async with open_journal(path) as journal:
            intent = await _place(journal, 1)
            await journal.record_outcome(intent.intent_id, IntentState.SENT)
            await journal.record_outcome(intent.intent_id, IntentState.UNKNOWN, detail="timeout")
            await journal.record_outcome(
                intent.intent_id, IntentState.UNRESOLVED, detail="unresolved; still tracked"
            )
            await journal.record_outcome(
                intent.intent_id,
                IntentState.TERMINAL,
                status=OrderStatus.REJECTED,
                detail="not placed: the exchange has no such order after its deadline",
            )
            before = await journal.history(intent.intent_id)
        async with open_journal(path) as journal:
            after = await journal.history(intent.intent_id)
            assert await journal.non_terminal() == []
        assert after == before
        assert [o.state for o in after] == [
            IntentState.WRITTEN,
            IntentState.SENT,
            IntentState.UNKNOWN,
            IntentState.UNRESOLVED,
            IntentState.TERMINAL,
        ]
        assert after[-1].status is OrderStatus.REJECTED

    async def test_sequence_survives_a_restart(self, tmp_path: Path) -> None:
        path = tmp_path / "journal.db"
        async with open_journal(path) as journal:
            first = [
                await journal.next_sequence(session=SESSION, strategy="maker", symbol=BTC)
                for _ in range(3)
            ]
            block = await journal.reserve_sequences(
                session=SESSION, strategy="maker", symbol=BTC, count=10
            )
        async with open_journal(path) as journal:
            after_restart = await journal.next_sequence(
                session=SESSION, strategy="maker", symbol=BTC
            )
            other_strategy = await journal.next_sequence(
                session=SESSION, strategy="taker", symbol=BTC
            )
            other_symbol = await journal.next_sequence(
                session=SESSION, strategy="maker", symbol=ETH
            )
        assert first == [1, 2, 3]
        assert block == range(4, 14)
        assert after_restart == 14
        assert (other_strategy, other_symbol) == (1, 1)

    async def test_a_sequence_used_by_an_intent_is_never_handed_out_again(
        self, tmp_path: Path
    ) -> None:
        path = tmp_path / "journal.db"
        async with open_journal(path) as journal:
            await _place(journal, 41)  # the caller chose 41 without reserving it
        async with open_journal(path) as journal:
            assert await journal.next_sequence(session=SESSION, strategy="maker", symbol=BTC) == 42

    async def test_intent_ids_are_never_reused(self, tmp_path: Path) -> None:
        path = tmp_path / "journal.db"
        async with open_journal(path) as journal:
            old = [await _place(journal, seq) for seq in (1, 2)]
        async with open_journal(path) as journal:
            new = await _place(journal, 3)
        assert new.intent_id > max(i.intent_id for i in old)


class TestOutcomes:
    """Outcome updates move an intent forward; TERMINAL absorbs late ones."""

    async def test_acknowledged_keeps_the_venue_order_id(self) -> None:
        async with open_journal(MEMORY) as journal:
            intent = await _place(journal, 1)
            acked = await journal.record_outcome(
                intent.intent_id,
                IntentState.ACKNOWLEDGED,
                status=OrderStatus.NEW,
                venue_order_id=99,
            )
            filled = await journal.record_outcome(
                intent.intent_id, IntentState.ACKNOWLEDGED, status=OrderStatus.PARTIALLY_FILLED
            )
        assert acked.venue_order_id == VenueOrderId(99)
        assert filled.venue_order_id == VenueOrderId(99)
        assert filled.status is OrderStatus.PARTIALLY_FILLED

    async def test_terminal_absorbs_late_updates_but_history_keeps_them(self) -> None:
        async with open_journal(MEMORY) as journal:
            intent = await _place(journal, 1)
            await journal.record_outcome(
                intent.intent_id, IntentState.TERMINAL, status=OrderStatus.CANCELED
            )
            late = await journal.record_outcome(
                intent.intent_id, IntentState.ACKNOWLEDGED, status=OrderStatus.NEW
            )
            history = await journal.history(intent.intent_id)
            assert await journal.non_terminal() == []
        assert (late.state, late.status) == (IntentState.TERMINAL, OrderStatus.CANCELED)
        assert [o.state for o in history] == [
            IntentState.WRITTEN,
            IntentState.TERMINAL,
            IntentState.ACKNOWLEDGED,
        ]

    async def test_find_lists_every_intent_about_an_order(self) -> None:
        async with open_journal(MEMORY) as journal:
            place = await _place(journal, 1)
            cid = place.intent.client_order_id
            modify = await _record(
                journal,
                cid,
                {"symbol": "BTCUSDT", "origClientOrderId": cid.value, "price": "59980"},
                kind="modify",
            )
            await _place(journal, 2)
            found = await journal.find(cid)
        assert [(i.intent_id, i.intent.kind) for i in found] == [
            (place.intent_id, IntentKind.PLACE),
            (modify.intent_id, IntentKind.MODIFY),
        ]

    async def test_an_outcome_for_an_unknown_intent_is_refused(self) -> None:
        async with open_journal(MEMORY) as journal:
            with pytest.raises(UnknownIntent):
                await journal.record_outcome(12345, IntentState.SENT)
            with pytest.raises(UnknownIntent):
                await journal.history(12345)
            intent = await _place(journal, 1)  # the journal is still usable
            assert await journal.non_terminal() == [intent]

    async def test_written_is_not_an_outcome(self) -> None:
        async with open_journal(MEMORY) as journal:
            intent = await _place(journal, 1)
            with pytest.raises(InvalidJournalEntry):
                await journal.record_outcome(intent.intent_id, IntentState.WRITTEN)


class TestStateForStatus:
    """The journal follows the order state machine: one intent state per order status."""

    @pytest.mark.parametrize(
        ("status", "state"),
        [
            (OrderStatus.PENDING_NEW, IntentState.SENT),
            (OrderStatus.UNKNOWN, IntentState.UNKNOWN),
            (OrderStatus.UNRESOLVED, IntentState.UNRESOLVED),
            (OrderStatus.NEW, IntentState.ACKNOWLEDGED),
            (OrderStatus.PARTIALLY_FILLED, IntentState.ACKNOWLEDGED),
            (OrderStatus.PENDING_CANCEL, IntentState.ACKNOWLEDGED),
            (OrderStatus.FILLED, IntentState.TERMINAL),
            (OrderStatus.CANCELED, IntentState.TERMINAL),
            (OrderStatus.REJECTED, IntentState.TERMINAL),
            (OrderStatus.EXPIRED, IntentState.TERMINAL),
            (OrderStatus.EXPIRED_IN_MATCH, IntentState.TERMINAL),
        ],
    )
    def test_mapping(self, status: OrderStatus, state: IntentState) -> None:
        assert intent_state_for(status) is state

    def test_every_status_is_covered(self) -> None:
        assert all(
            intent_state_for(status).is_terminal == status.is_terminal for status in OrderStatus
        )
        assert not any(intent_state_for(status) is IntentState.WRITTEN for status in OrderStatus)


class TestConcurrency:
    """Many tasks write at once; every write is answered, none is lost or merged."""

    async def test_many_writers(self, tmp_path: Path) -> None:
        path = tmp_path / "journal.db"
        results: list[JournaledIntent] = []

        async def writer(seq: int) -> None:
            intent = await _place(journal, seq, strategy=f"s{seq % 7}")
            if seq % 2 == 0:
                intent = await journal.record_outcome(
                    intent.intent_id, IntentState.TERMINAL, status=OrderStatus.FILLED
                )
            results.append(intent)

        async with open_journal(path) as journal:
            async with trio.open_nursery() as nursery:
                for seq in range(1, 201):
                    nursery.start_soon(writer, seq)
            stats = journal.statistics()
        async with open_journal(path) as journal:
            open_after = await journal.non_terminal()
        assert len({r.intent_id for r in results}) == 200
        assert open_after == sorted(
            (r for r in results if not r.is_terminal), key=lambda r: r.intent_id
        )
        assert len(open_after) == 100
        assert (stats.intents, stats.outcomes, stats.failures) == (200, 100, 0)
        # Writes that wait together are committed together (one fsync per batch).
        assert stats.transactions < stats.requests

    async def test_concurrent_sequences_are_distinct_and_contiguous(self) -> None:
        got: list[int] = []

        async def take() -> None:
            got.append(await journal.next_sequence(session=SESSION, strategy="m", symbol=BTC))

        async with open_journal(MEMORY) as journal, trio.open_nursery() as nursery:
            for _ in range(150):
                nursery.start_soon(take)
        assert sorted(got) == list(range(1, 151))


class _Gate:
    """Holds the journal's worker thread inside SQLite until the test lets it go."""

    def __init__(self) -> None:
        self.armed = False
        self.entered = trio.Event()
        self.release = threading.Event()
        self._token = trio.lowlevel.current_trio_token()

    def install(self, conn: sqlite3.Connection) -> None:
        conn.set_progress_handler(self._on_progress, 1)

    def _on_progress(self) -> int:
        if self.armed:
            self.armed = False
            # Only possible from a worker thread: on the trio thread this raises.
            trio.from_thread.run_sync(self.entered.set, trio_token=self._token)
            self.release.wait(timeout=10)
        return 0


class TestLoopIsNotBlocked:
    """SQLite runs in a worker thread: trio tasks keep running during a write."""

    async def test_other_tasks_run_while_a_write_is_inside_sqlite(self) -> None:
        gate = _Gate()
        order: list[str] = []
        async with open_journal(MEMORY, on_connect=gate.install) as journal:

            async def writer() -> None:
                await _place(journal, 1)
                order.append("write acknowledged")

            gate.armed = True
            with trio.fail_after(10):
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(writer)
                    await gate.entered.wait()  # the write is now executing in SQLite
                    order.append("another task ran")
                    gate.release.set()
            assert len(await journal.non_terminal()) == 1
        assert order == ["another task ran", "write acknowledged"]

    async def test_every_queued_request_is_answered_when_the_actor_stops(self) -> None:
        gate = _Gate()
        journal = await Journal.connect(MEMORY, on_connect=gate.install)
        outcomes: dict[int, str] = {}

        async def writer(seq: int) -> None:
            try:
                await _place(journal, seq)
                outcomes[seq] = "written"
            except JournalClosed:
                outcomes[seq] = "closed"

        actor_scope = trio.CancelScope()

        async def run_actor(
            *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
        ) -> None:
            with actor_scope:
                await journal.run(task_status=task_status)

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                await nursery.start(run_actor)
                gate.armed = True
                nursery.start_soon(writer, 1)
                await gate.entered.wait()  # intent 1 is inside SQLite
                for seq in range(2, 6):
                    nursery.start_soon(writer, seq)
                await trio.testing.wait_all_tasks_blocked()
                actor_scope.cancel()  # the actor stops with 2..5 queued
                gate.release.set()
        assert outcomes == {1: "written", 2: "closed", 3: "closed", 4: "closed", 5: "closed"}
        stats = journal.statistics()
        assert (stats.intents, stats.requests, stats.failures, stats.queued) == (1, 5, 4, 0)
        with pytest.raises(JournalClosed):
            await _place(journal, 6)


class TestDecimals:
    """Numbers are stored as the fixed-point text that would be sent, never as floats."""

    @given(st.decimals(allow_nan=False, allow_infinity=False))
    @settings(max_examples=300, deadline=None)
    def test_params_are_fixed_point_and_exact(self, value: Decimal) -> None:
        ((_, text),) = journal_params({"price": value})
        assert WIRE_NUMBER.fullmatch(text)
        assert Decimal(text) == value

    @given(
        st.lists(
            st.decimals(allow_nan=False, allow_infinity=False, min_value=0, max_value=10**12),
            min_size=1,
            max_size=4,
        )
    )
    @settings(max_examples=40, deadline=None)
    async def test_round_trip_through_the_journal_is_exact(self, values: list[Decimal]) -> None:
        params = {f"p{i}": value for i, value in enumerate(values)}
        async with open_journal(MEMORY) as journal:
            await _record(journal, _cid(1), params)
            (stored,) = await journal.non_terminal()
        assert [name for name, _ in stored.intent.params] == list(params)
        for (_, text), value in zip(stored.intent.params, values, strict=True):
            assert "E" not in text.upper()
            assert Decimal(text) == value

    @pytest.mark.parametrize(
        "bad",
        [0.1, True, Decimal("NaN"), Decimal("Infinity"), None, [1]],
        ids=["float", "bool", "nan", "inf", "none", "list"],
    )
    def test_inexact_or_odd_values_are_refused(self, bad: object) -> None:
        with pytest.raises(InvalidJournalEntry):
            journal_params({"price": bad})


class TestRefusals:
    """Bad input and unusable files fail with typed errors, before anything is sent."""

    @pytest.mark.parametrize("key", ["signature", "Signature", "apiKey", "X-MBX-APIKEY", "secret"])
    async def test_secret_like_parameters_are_never_stored(self, tmp_path: Path, key: str) -> None:
        path = tmp_path / "journal.db"
        secret_value = "0123456789abcdef-do-not-store"
        async with open_journal(path) as journal:
            with pytest.raises(InvalidJournalEntry) as info:
                await _record(journal, _cid(1), {"symbol": "BTCUSDT", key: secret_value})
            assert await journal.non_terminal() == []
        assert secret_value not in str(info.value)
        for file in await trio.Path(tmp_path).iterdir():
            assert secret_value.encode() not in await file.read_bytes()

    async def test_a_file_that_is_not_a_database_is_corrupt(self, tmp_path: Path) -> None:
        path = tmp_path / "journal.db"
        path.write_bytes(b"this is not sqlite\n" * 512)
        with pytest.raises(JournalCorrupt):
            await Journal.connect(path)

    async def test_another_applications_database_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "other.db"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE intents (id INTEGER)")
        conn.commit()
        conn.close()
        with pytest.raises(JournalCorrupt):
            await Journal.connect(path)

    async def test_a_journal_owned_by_another_connection_is_locked(self, tmp_path: Path) -> None:
        path = tmp_path / "journal.db"
        async with open_journal(path) as first:
            await _place(first, 1)
            with pytest.raises(JournalLocked):
                await Journal.connect(path, lock_timeout_s=0)
        async with open_journal(path, lock_timeout_s=0) as second:  # released on close
            assert len(await second.non_terminal()) == 1

    async def test_an_unreachable_path_is_unavailable(self, tmp_path: Path) -> None:
        with pytest.raises(JournalUnavailable):
            await Journal.connect(tmp_path / "missing-dir" / "journal.db")

    async def test_a_closed_journal_refuses_work(self) -> None:
        async with open_journal(MEMORY) as journal:
            pass
        with pytest.raises(JournalClosed):
            await _place(journal, 1)
        with pytest.raises(JournalClosed):
            await journal.non_terminal()

    async def test_bad_arguments_are_refused_before_io(self) -> None:
        async with open_journal(MEMORY) as journal:
            with pytest.raises(InvalidJournalEntry):
                await journal.reserve_sequences(session=SESSION, strategy="m", symbol=BTC, count=0)
            with pytest.raises(InvalidJournalEntry):
                await journal.record_intent(
                    session="",
                    strategy="maker",
                    symbol=BTC,
                    kind=IntentKind.PLACE,
                    client_order_id=_cid(1),
                    params={},
                )
            assert journal.statistics().requests == 0
