"""Client order ids never repeat: within a run, across restarts, with or without a journal.

A restarted engine that rebuilt an id of an earlier run would meet -4116, or
mistake the old order for the new intent (faults.md row 49).
"""

from __future__ import annotations

import trio

from trio_fapi.actors.journal import MEMORY, open_journal
from trio_fapi.actors.order_ids import (
    BLOCK_SIZE,
    SEQUENCES_PER_MS,
    IdAllocator,
    sequence_base,
)
from trio_fapi.protocol.ids import CLIENT_ORDER_ID_PATTERN, ClientOrderId, Symbol

BTC = Symbol("BTCUSDT")
#: 2026-01-01T00:00:00Z, a start time after the allocator's epoch.
START_MS = 1_767_225_600_000


async def draw(allocator: IdAllocator, count: int, strategy: str = "mm") -> list[int]:
    """``count`` sequence numbers, checking each id is legal and derived from its number."""
    out: list[int] = []
    for _ in range(count):
        cid, seq = await allocator.next(strategy)
        assert CLIENT_ORDER_ID_PATTERN.fullmatch(cid.value)
        assert int(cid.value.rsplit(".", 1)[1], 16) == seq
        out.append(seq)
    return out


class TestSequenceBase:
    def test_grows_by_sequences_per_ms(self) -> None:
        assert sequence_base(START_MS + 1) - sequence_base(START_MS) == SEQUENCES_PER_MS

    def test_never_negative(self) -> None:
        assert sequence_base(0) == 0


class TestWithoutJournal:
    async def test_starts_above_the_base_and_never_repeats(self) -> None:
        base = sequence_base(START_MS)
        allocator = IdAllocator(session="s1", symbol=BTC, journal=None, base=base)
        seqs = await draw(allocator, 1000)
        assert min(seqs) > base
        assert len(set(seqs)) == len(seqs)
        assert seqs == sorted(seqs)

    async def test_ids_fit_binance_limits_at_a_late_start(self) -> None:
        """A start in 2100 still gives legal 36-char ids for a long strategy name."""
        late = sequence_base(4_102_444_800_000)
        allocator = IdAllocator(session="session8", symbol=BTC, journal=None, base=late)
        cid, seq = await allocator.next("a-strategy-with-a-very-long-name")
        assert seq == late + 1
        assert len(cid.value) <= 36

    async def test_strategies_never_share_an_id(self) -> None:
        allocator = IdAllocator(session="s1", symbol=BTC, journal=None, base=0)
        a = {(await allocator.next("alpha"))[0] for _ in range(50)}
        b = {(await allocator.next("beta"))[0] for _ in range(50)}
        assert len(a) == len(b) == 50
        assert not a & b

    async def test_runs_started_one_ms_apart_never_collide(self) -> None:
        """Two runs under one session, 1 ms apart, 4,096 orders each: no shared id."""
        ids: list[set[ClientOrderId]] = []
        for start in (START_MS, START_MS + 1):
            allocator = IdAllocator(
                session="same", symbol=BTC, journal=None, base=sequence_base(start)
            )
            run: set[ClientOrderId] = set()
            for _ in range(SEQUENCES_PER_MS):
                cid, _ = await allocator.next("mm")
                run.add(cid)
            assert len(run) == SEQUENCES_PER_MS
            ids.append(run)
        assert not ids[0] & ids[1]


class TestWithJournal:
    """Real clock: the journal works in a worker thread."""

    async def test_blocks_are_reserved_and_used_in_order(self) -> None:
        async with open_journal(MEMORY) as journal:
            allocator = IdAllocator(session="s1", symbol=BTC, journal=journal)
            before = journal.statistics().requests
            first_block = await draw(allocator, BLOCK_SIZE)
            assert first_block == list(range(1, BLOCK_SIZE + 1))
            assert journal.statistics().requests - before == 1  # one reservation per block
            (next_seq,) = await draw(allocator, 1)
            assert next_seq == BLOCK_SIZE + 1
            assert journal.statistics().requests - before == 2

    async def test_a_second_allocator_continues_above_the_first(self) -> None:
        """A restart on the same journal skips what the first run reserved, used or not."""
        async with open_journal(MEMORY) as journal:
            first = IdAllocator(session="s1", symbol=BTC, journal=journal)
            used_first = await draw(first, 3)
            second = IdAllocator(session="s1", symbol=BTC, journal=journal)
            used_second = await draw(second, BLOCK_SIZE + 3)
            assert min(used_second) > BLOCK_SIZE >= max(used_first)
            # The first run, still alive, moves to a block above the second's.
            more_first = await draw(first, BLOCK_SIZE)
            everything = used_first + used_second + more_first
            assert len(set(everything)) == len(everything)

    async def test_concurrent_requests_share_blocks_without_repeats(self) -> None:
        async with open_journal(MEMORY) as journal:
            allocator = IdAllocator(session="s1", symbol=BTC, journal=journal)
            seen: list[int] = []

            async def one() -> None:
                _, seq = await allocator.next("mm")
                seen.append(seq)

            async with trio.open_nursery() as nursery:
                for _ in range(3 * BLOCK_SIZE + 5):
                    nursery.start_soon(one)
            assert sorted(seen) == list(range(1, 3 * BLOCK_SIZE + 6))

    async def test_symbols_and_strategies_have_their_own_sequences(self) -> None:
        async with open_journal(MEMORY) as journal:
            btc = IdAllocator(session="s1", symbol=BTC, journal=journal)
            eth = IdAllocator(session="s1", symbol=Symbol("ETHUSDT"), journal=journal)
            a, _ = await btc.next("mm")
            b, _ = await eth.next("mm")
            c, _ = await btc.next("other")
            assert len({a, b, c}) == 3
