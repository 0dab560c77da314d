"""Client order ids that never repeat, across restarts too.

:meth:`~trio_fapi.protocol.ids.ClientOrderId.derive` builds an id from
(session, strategy, symbol, sequence). The sequence is what must never repeat
within a session: a restarted engine that rebuilt an id of the previous run
would meet -4116 (or, worse, a filled order under that id) and could mistake
the old order for the new intent (faults.md row 49).

- With the intent journal, sequences come from
  :meth:`~trio_fapi.actors.journal.Journal.reserve_sequences` in blocks, so they
  survive a crash: a block is on disk before any of its numbers is used.
- Without it, a run starts its sequences at its start time in milliseconds
  times :data:`SEQUENCES_PER_MS`, so a restart under the same session tag starts
  above the previous run unless that run placed more than 4,096 orders per
  millisecond between the two starts.
"""

from __future__ import annotations

from collections import defaultdict

import trio

from trio_fapi.protocol.ids import ClientOrderId, Symbol

from .journal import Journal

__all__ = ["BLOCK_SIZE", "SEQUENCES_PER_MS", "IdAllocator", "sequence_base"]

#: Sequence numbers reserved from the journal at a time (one fsync per block).
BLOCK_SIZE = 32
#: Without a journal, sequences of a run start at start-ms times this.
SEQUENCES_PER_MS = 4096
#: 2025-01-01T00:00:00Z: keeps journal-less sequences (and so the ids) short.
_EPOCH_MS = 1_735_689_600_000


def sequence_base(start_ms: int) -> int:
    """The first sequence number of a journal-less run that started at ``start_ms``."""
    return max(0, start_ms - _EPOCH_MS) * SEQUENCES_PER_MS


class IdAllocator:
    """Hands out (client order id, sequence) pairs for one symbol.

    Args:
        session: The run's session tag (prefix of every id).
        symbol: The symbol whose orders get these ids.
        journal: Where sequences are reserved; ``None`` uses ``base``.
        base: The last sequence number used before this run (journal-less).
    """

    def __init__(
        self, *, session: str, symbol: Symbol, journal: Journal | None, base: int = 0
    ) -> None:
        self._session = session
        self._symbol = symbol
        self._journal = journal
        self._last: dict[str, int] = defaultdict(lambda: base)
        self._blocks: dict[str, range] = {}
        self._locks: dict[str, trio.Lock] = defaultdict(trio.Lock)

    async def next(self, strategy: str) -> tuple[ClientOrderId, int]:
        """The next id of ``strategy`` on this symbol, and its sequence number.

        Raises:
            JournalError: A new block could not be reserved (nothing may be sent).
        """
        seq = await self._next_sequence(strategy)
        cid = ClientOrderId.derive(
            session=self._session, strategy=strategy, symbol=self._symbol, seq=seq
        )
        return cid, seq

    async def _next_sequence(self, strategy: str) -> int:
        if self._journal is None:
            self._last[strategy] += 1
            return self._last[strategy]
        block = self._blocks.get(strategy)
        if not block:
            async with self._locks[strategy]:
                block = self._blocks.get(strategy)
                if not block:
                    block = await self._journal.reserve_sequences(
                        session=self._session,
                        strategy=strategy,
                        symbol=self._symbol,
                        count=BLOCK_SIZE,
                    )
        self._blocks[strategy] = block[1:]
        return block[0]
