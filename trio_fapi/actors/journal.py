"""The intent journal actor: every order intent is on disk before it is sent.

A process can die between any two instructions. If it dies after sending an
order and before remembering it, a restarted process cannot know the order
exists and may send it again (faults.md rows 49-50, invariant I1). The journal
closes that gap by ordering: the caller writes the intent, waits for the write
to be acknowledged, and only then sends. On restart, :meth:`Journal.non_terminal`
lists every intent that is not settled, which is exactly what must be
reconciled (queried by client order id) before any strategy runs, and
:meth:`Journal.reserve_sequences` hands out intent sequence numbers that never
repeat, so :meth:`~trio_fapi.protocol.ids.ClientOrderId.derive` never rebuilds an
id a previous run already used.

Storage is SQLite from the standard library, one file:

- **WAL mode**: a commit appends to the write-ahead log instead of rewriting
  pages, so one commit costs one sequential write and, with FULL, one fsync.
- **synchronous=FULL** by default: in WAL mode, NORMAL survives a crash of the
  process but may lose the last commits on a power cut or OS crash, because the
  log is only synced at checkpoints. A lost intent is the one failure the
  journal exists to prevent (the order may be on the book while the journal
  forgets it), so each acknowledged write is fsynced. The cost is one fsync
  per *batch*, not per write: concurrent writes are group-committed.
  NORMAL is available for hosts where a power cut is not a concern.
- **Exclusive locking**: the connection holds the file's lock for its whole
  life, so a second engine opening the same journal fails at once with
  :class:`~trio_fapi.protocol.journal_records.JournalLocked` instead of two
  processes reconciling the same intents.

SQLite calls block, so none runs on the trio thread. One actor task owns the
one connection and runs every operation through ``trio.to_thread.run_sync``
(one call at a time, so the connection is never used by two threads at once).
Callers send it requests over a bounded channel and wait for the answer; each
batch of requests waiting at that moment is executed in one transaction.
A call that is cancelled while waiting may still be written: an intent that is
written but never sent stays ``WRITTEN`` and is reconciled like any other.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Literal, cast

import attrs
import trio

from trio_fapi._time import AnchoredClock
from trio_fapi.protocol.enums import OrderStatus
from trio_fapi.protocol.ids import ClientOrderId, Symbol, VenueOrderId
from trio_fapi.protocol.journal_records import (
    Intent,
    IntentKind,
    IntentOutcome,
    IntentState,
    InvalidJournalEntry,
    JournalClosed,
    JournalCorrupt,
    JournaledIntent,
    JournalError,
    JournalLocked,
    JournalUnavailable,
    UnknownIntent,
)

from .reply import OneShot

__all__ = [
    "JOURNAL_INBOX_SIZE",
    "JOURNAL_MAX_BATCH",
    "MEMORY",
    "Journal",
    "JournalStatistics",
    "open_journal",
]

#: Requests that may wait for the journal actor before callers block.
JOURNAL_INBOX_SIZE = 64
#: Most requests committed in one transaction (one fsync).
JOURNAL_MAX_BATCH = 64
#: Pass as ``path`` for a journal that lives in memory (tests; no restart survives it).
MEMORY = ":memory:"
#: ``PRAGMA application_id`` of a trio-fapi journal ("tfJ1").
APPLICATION_ID = 0x74664A31
#: ``PRAGMA user_version`` of the current schema.
SCHEMA_VERSION = 1

Synchronous = Literal["FULL", "NORMAL"]

_SCHEMA = (
    """
    CREATE TABLE intents (
        intent_id INTEGER PRIMARY KEY AUTOINCREMENT,
        session TEXT NOT NULL,
        strategy TEXT NOT NULL,
        symbol TEXT NOT NULL,
        kind TEXT NOT NULL,
        client_order_id TEXT NOT NULL,
        sequence INTEGER,
        params TEXT NOT NULL,
        written_at_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        status TEXT,
        venue_order_id INTEGER,
        detail TEXT,
        updated_at_ms INTEGER NOT NULL
    )
    """,
    "CREATE INDEX intents_open ON intents (intent_id) WHERE state <> 'terminal'",
    "CREATE INDEX intents_by_client_id ON intents (client_order_id)",
    """
    CREATE TABLE outcomes (
        intent_id INTEGER NOT NULL REFERENCES intents (intent_id),
        at_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        status TEXT,
        venue_order_id INTEGER,
        detail TEXT
    )
    """,
    "CREATE INDEX outcomes_by_intent ON outcomes (intent_id)",
    """
    CREATE TABLE sequences (
        session TEXT NOT NULL,
        strategy TEXT NOT NULL,
        symbol TEXT NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (session, strategy, symbol)
    ) WITHOUT ROWID
    """,
)
_INTENT_COLUMNS = (
    "intent_id, session, strategy, symbol, kind, client_order_id, sequence, params, "
    "written_at_ms, state, status, venue_order_id, detail, updated_at_ms"
)


@attrs.frozen(kw_only=True)
class JournalStatistics:
    """A snapshot of the journal actor.

    Attributes:
        intents: Intents written by this process.
        outcomes: Outcome updates written by this process.
        requests: Requests answered (writes and reads), failures included.
        transactions: Batches committed.
        largest_batch: The most requests committed together.
        failures: Requests answered with a :class:`JournalError`.
        queued: Requests waiting in the inbox now.
    """

    intents: int
    outcomes: int
    requests: int
    transactions: int
    largest_batch: int
    failures: int
    queued: int


# -- the store: synchronous, used from the worker thread only -------------------------------


def _map_error(exc: sqlite3.Error) -> JournalError:
    name = str(getattr(exc, "sqlite_errorname", ""))
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return JournalLocked()
    if name == "SQLITE_NOTADB" or name.startswith("SQLITE_CORRUPT"):
        return JournalCorrupt(reason=f"{name}: {exc}")
    return JournalUnavailable(reason=f"{name or type(exc).__name__}: {exc}")


def _intent_from_row(row: Sequence[object]) -> JournaledIntent:
    (
        intent_id,
        session,
        strategy,
        symbol,
        kind,
        client_order_id,
        sequence,
        params,
        written_at_ms,
        state,
        status,
        venue_order_id,
        detail,
        updated_at_ms,
    ) = row
    pairs = json.loads(str(params))
    intent = Intent(
        session=str(session),
        strategy=str(strategy),
        symbol=Symbol(str(symbol)),
        kind=IntentKind(str(kind)),
        client_order_id=ClientOrderId(str(client_order_id)),
        params=tuple((str(key), str(value)) for key, value in pairs),
        sequence=cast(int | None, sequence),
    )
    return JournaledIntent(
        intent_id=cast(int, intent_id),
        intent=intent,
        written_at_ms=cast(int, written_at_ms),
        state=IntentState(str(state)),
        status=None if status is None else OrderStatus(str(status)),
        venue_order_id=None if venue_order_id is None else VenueOrderId(cast(int, venue_order_id)),
        detail=cast(str | None, detail),
        updated_at_ms=cast(int, updated_at_ms),
    )


class _Store:
    """The connection and every SQL statement. Never touched from the trio thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._closed = False

    @classmethod
    def open(
        cls,
        path: str,
        *,
        synchronous: Synchronous,
        lock_timeout_s: float,
        check: bool,
        on_connect: Callable[[sqlite3.Connection], None] | None,
    ) -> _Store:
        try:
            conn = sqlite3.connect(
                path, timeout=lock_timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _map_error(exc) from exc
        try:
            cls._prepare(conn, path, synchronous=synchronous, check=check)
            if on_connect is not None:
                on_connect(conn)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise _map_error(exc) from exc
            raise
        return cls(conn)

    @staticmethod
    def _prepare(
        conn: sqlite3.Connection, path: str, *, synchronous: Synchronous, check: bool
    ) -> None:
        if path != MEMORY:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise JournalUnavailable(reason=f"WAL mode refused (got {mode})")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN EXCLUSIVE")  # takes the lock now, and keeps it (exclusive mode)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app_id == 0 and tables == 0:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif app_id != APPLICATION_ID:
                raise JournalCorrupt(reason="the file is an SQLite database but not a journal")
            elif version != SCHEMA_VERSION:
                raise JournalCorrupt(
                    reason=f"schema version {version}; this engine reads {SCHEMA_VERSION}"
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if check:
            rows = conn.execute("PRAGMA quick_check").fetchall()
            if rows != [("ok",)]:
                raise JournalCorrupt(reason=f"integrity check failed: {rows[:3]!r}")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._conn.close()

    def run_batch(self, ops: Sequence[Callable[[_Store], object]]) -> list[object]:
        """Run every op in one transaction; a domain error fails only its own op."""
        if self._closed:
            return [JournalClosed() for _ in ops]
        results: list[object] = []
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            for op in ops:
                try:
                    results.append(op(self))
                except JournalError as exc:  # raised before the op wrote anything
                    results.append(exc)
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            try:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            return [_map_error(exc) for _ in ops]
        return results

    # -- operations (inside a transaction) ----------------------------------------------

    def insert_intent(self, intent: Intent, now_ms: int) -> JournaledIntent:
        cursor = self._conn.execute(
            "INSERT INTO intents (session, strategy, symbol, kind, client_order_id, sequence,"
            " params, written_at_ms, state, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                intent.session,
                intent.strategy,
                intent.symbol.value,
                intent.kind.value,
                intent.client_order_id.value,
                intent.sequence,
                json.dumps([list(pair) for pair in intent.params]),
                now_ms,
                IntentState.WRITTEN.value,
                now_ms,
            ),
        )
        intent_id = cursor.lastrowid
        assert intent_id is not None
        self._conn.execute(
            "INSERT INTO outcomes (intent_id, at_ms, state) VALUES (?, ?, ?)",
            (intent_id, now_ms, IntentState.WRITTEN.value),
        )
        if intent.sequence is not None:
            # A sequence used here is spent, however the caller obtained it.
            self._conn.execute(
                "INSERT INTO sequences (session, strategy, symbol, last) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (session, strategy, symbol) DO UPDATE"
                " SET last = max(last, excluded.last)",
                (intent.session, intent.strategy, intent.symbol.value, intent.sequence),
            )
        return JournaledIntent(
            intent_id=intent_id,
            intent=intent,
            written_at_ms=now_ms,
            state=IntentState.WRITTEN,
            updated_at_ms=now_ms,
        )

    def update(self, intent_id: int, outcome: IntentOutcome) -> JournaledIntent:
        row = self._conn.execute(
            "SELECT state FROM intents WHERE intent_id = ?", (intent_id,)
        ).fetchone()
        if row is None:
            raise UnknownIntent(intent_id=intent_id)
        status = None if outcome.status is None else outcome.status.value
        venue = None if outcome.venue_order_id is None else outcome.venue_order_id.value
        self._conn.execute(
            "INSERT INTO outcomes (intent_id, at_ms, state, status, venue_order_id, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (intent_id, outcome.at_ms, outcome.state.value, status, venue, outcome.detail),
        )
        if row[0] != IntentState.TERMINAL.value:
            # TERMINAL absorbs: a late update is kept in the history, never regresses the state.
            self._conn.execute(
                "UPDATE intents SET state = ?, status = coalesce(?, status),"
                " venue_order_id = coalesce(?, venue_order_id), detail = ?, updated_at_ms = ?"
                " WHERE intent_id = ?",
                (outcome.state.value, status, venue, outcome.detail, outcome.at_ms, intent_id),
            )
        return self.get(intent_id)

    def get(self, intent_id: int) -> JournaledIntent:
        row = self._conn.execute(
            f"SELECT {_INTENT_COLUMNS} FROM intents WHERE intent_id = ?", (intent_id,)
        ).fetchone()
        if row is None:
            raise UnknownIntent(intent_id=intent_id)
        return _intent_from_row(row)

    def non_terminal(self) -> list[JournaledIntent]:
        rows = self._conn.execute(
            f"SELECT {_INTENT_COLUMNS} FROM intents WHERE state <> 'terminal' ORDER BY intent_id"
        ).fetchall()
        return [_intent_from_row(row) for row in rows]

    def find(self, client_order_id: str) -> list[JournaledIntent]:
        rows = self._conn.execute(
            f"SELECT {_INTENT_COLUMNS} FROM intents WHERE client_order_id = ? ORDER BY intent_id",
            (client_order_id,),
        ).fetchall()
        return [_intent_from_row(row) for row in rows]

    def history(self, intent_id: int) -> list[IntentOutcome]:
        self.get(intent_id)  # UnknownIntent for an id never written
        rows = self._conn.execute(
            "SELECT state, status, venue_order_id, detail, at_ms FROM outcomes"
            " WHERE intent_id = ? ORDER BY rowid",
            (intent_id,),
        ).fetchall()
        return [
            IntentOutcome(
                state=IntentState(state),
                status=None if status is None else OrderStatus(status),
                venue_order_id=None if venue is None else VenueOrderId(venue),
                detail=detail,
                at_ms=at_ms,
            )
            for state, status, venue, detail, at_ms in rows
        ]

    def reserve(self, session: str, strategy: str, symbol: str, count: int) -> range:
        self._conn.execute(
            "INSERT INTO sequences (session, strategy, symbol, last) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (session, strategy, symbol) DO UPDATE SET last = last + excluded.last",
            (session, strategy, symbol, count),
        )
        last = self._conn.execute(
            "SELECT last FROM sequences WHERE session = ? AND strategy = ? AND symbol = ?",
            (session, strategy, symbol),
        ).fetchone()[0]
        return range(last - count + 1, last + 1)


# -- the actor ------------------------------------------------------------------------------


@attrs.frozen
class _Job:
    op: Callable[[_Store], object]
    reply_to: OneShot[object] = attrs.field(eq=False, repr=False)


class Journal:
    """The journal actor and its handle. Build it with :meth:`connect` or :func:`open_journal`.

    Every method may be called from any task of the trio run; the answers come
    back in the order each caller asked. Every method raises a
    :class:`~trio_fapi.protocol.journal_records.JournalError` when the journal
    cannot serve it; a caller that gets one for :meth:`record_intent` must not send.
    """

    def __init__(
        self,
        store: _Store,
        *,
        clock_ms: Callable[[], int],
        inbox_size: int = JOURNAL_INBOX_SIZE,
        max_batch: int = JOURNAL_MAX_BATCH,
    ) -> None:
        if inbox_size < 1 or max_batch < 1:
            raise ValueError("inbox_size and max_batch must be at least 1")
        self._store = store
        self._clock_ms = clock_ms
        self._max_batch = max_batch
        self._send, self._inbox = trio.open_memory_channel[_Job](inbox_size)
        self._thread_limiter = trio.CapacityLimiter(1)
        self._started = False
        self._stopped = trio.Event()
        self._intents = 0
        self._outcomes = 0
        self._requests = 0
        self._transactions = 0
        self._largest_batch = 0
        self._failures = 0

    @classmethod
    async def connect(
        cls,
        path: str | os.PathLike[str] = MEMORY,
        *,
        clock_ms: Callable[[], int] | None = None,
        synchronous: Synchronous = "FULL",
        lock_timeout_s: float = 0.5,
        check: bool = True,
        inbox_size: int = JOURNAL_INBOX_SIZE,
        max_batch: int = JOURNAL_MAX_BATCH,
        on_connect: Callable[[sqlite3.Connection], None] | None = None,
    ) -> Journal:
        """Open (or create) the journal file; the actor is not running yet.

        Start it with ``await nursery.start(journal.run)`` and stop it with
        :meth:`aclose`.

        Args:
            path: The database file, or :data:`MEMORY`.
            clock_ms: Epoch milliseconds for the ``*_at_ms`` fields; an
                :class:`~trio_fapi._time.AnchoredClock` by default.
            synchronous: ``"FULL"`` (each commit survives a power cut) or
                ``"NORMAL"`` (survives a process crash only).
            lock_timeout_s: How long to wait for a lock held elsewhere before
                :class:`JournalLocked`; short, because a journal has one owner.
            check: Run SQLite's ``quick_check`` on open.
            inbox_size: Requests that may wait before callers block.
            max_batch: Most requests committed in one transaction.
            on_connect: Called with the connection in the worker thread after
                set-up (instrumentation and tests).

        Raises:
            JournalCorrupt: Not an SQLite file, not a journal, another schema
                version, or the integrity check failed.
            JournalLocked: Another process or connection owns the file.
            JournalUnavailable: The file cannot be opened or set up.
        """
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        if not math.isfinite(lock_timeout_s) or lock_timeout_s < 0:
            raise ValueError("lock_timeout_s must be a finite number >= 0")
        store = await trio.to_thread.run_sync(
            lambda: _Store.open(
                os.fspath(path),
                synchronous=synchronous,
                lock_timeout_s=lock_timeout_s,
                check=check,
                on_connect=on_connect,
            ),
            thread_name="trio-fapi journal",
        )
        return cls(
            store,
            clock_ms=clock_ms if clock_ms is not None else AnchoredClock(),
            inbox_size=inbox_size,
            max_batch=max_batch,
        )

    # -- life cycle ---------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve requests until :meth:`aclose`, then close the database.

        Requests already queued when :meth:`aclose` is called are still served.
        If the task is cancelled instead, queued requests are answered with
        :class:`JournalClosed`; a batch already in the worker thread is finished
        first (an SQLite call is never abandoned half-way).
        """
        self._started = True
        batch: list[_Job] = []
        try:
            task_status.started()
            async for first in self._inbox:
                batch = [first]
                while len(batch) < self._max_batch:
                    try:
                        batch.append(self._inbox.receive_nowait())
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                results = await trio.to_thread.run_sync(
                    self._store.run_batch,
                    [job.op for job in batch],
                    limiter=self._thread_limiter,
                    thread_name="trio-fapi journal",
                )
                self._transactions += 1
                self._largest_batch = max(self._largest_batch, len(batch))
                for job, result in zip(batch, results, strict=True):
                    self._answer(job, result)
                batch = []
        finally:
            # Nobody may wait forever: answer what was taken and what is still queued.
            for job in batch:
                self._answer(job, JournalClosed())
            self._refuse_queued()
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(self._store.close, limiter=self._thread_limiter)
            self._stopped.set()

    def _answer(self, job: _Job, result: object) -> None:
        self._requests += 1
        if isinstance(result, JournalError):
            self._failures += 1
        job.reply_to.send(result)

    def _refuse_queued(self) -> None:
        while True:
            try:
                job = self._inbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            self._answer(job, JournalClosed())
        self._inbox.close()

    async def aclose(self) -> None:
        """Stop taking requests, let queued ones finish, close the database.

        When it returns the file's lock is released. Idempotent.
        """
        await self._send.aclose()
        if self._started:
            await self._stopped.wait()
        elif not self._stopped.is_set():
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(self._store.close, limiter=self._thread_limiter)
            self._stopped.set()

    async def _submit(self, op: Callable[[_Store], object]) -> object:
        slot: OneShot[object] = OneShot()
        try:
            await self._send.send(_Job(op, slot))
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise JournalClosed() from None
        result = await slot.wait()
        if isinstance(result, JournalError):
            raise result
        return result

    # -- writes -------------------------------------------------------------------------

    async def record_intent(
        self,
        *,
        session: str,
        strategy: str,
        symbol: Symbol,
        kind: IntentKind | str,
        client_order_id: ClientOrderId,
        params: Mapping[str, object] | Iterable[tuple[str, object]],
        sequence: int | None = None,
    ) -> JournaledIntent:
        """Write an intent before it is sent; returns it as stored (state ``WRITTEN``).

        Send only after this returns. A ``sequence`` given here is spent: later
        :meth:`reserve_sequences` calls for the same (session, strategy, symbol)
        start above it, also after a restart.

        Raises:
            InvalidJournalEntry: Bad input (a float, a secret-like key, ...),
                refused before any I/O.
            JournalError: The write failed or the journal is closed; do not send.
        """
        intent = Intent(
            session=session,
            strategy=strategy,
            symbol=symbol,
            kind=IntentKind(kind),
            client_order_id=client_order_id,
            params=params,
            sequence=sequence,
        )
        now_ms = self._clock_ms()
        result = await self._submit(lambda store: store.insert_intent(intent, now_ms))
        self._intents += 1
        return cast(JournaledIntent, result)

    async def record_outcome(
        self,
        intent_id: int,
        state: IntentState | str,
        *,
        status: OrderStatus | None = None,
        venue_order_id: VenueOrderId | int | None = None,
        detail: str | None = None,
    ) -> JournaledIntent:
        """Record what became of an intent; returns the intent as it now stands.

        Intents are addressed by :attr:`JournaledIntent.intent_id`, not by client
        order id: a cancel and a modify carry the id of the order they act on.
        ``TERMINAL`` absorbs: a later update is kept in the history but does not
        change the intent's state. ``status`` and ``venue_order_id`` keep their
        last known value when not given.

        Raises:
            InvalidJournalEntry: ``WRITTEN`` is not an outcome.
            UnknownIntent: No intent has this id.
            JournalError: The write failed or the journal is closed.
        """
        new_state = IntentState(state)
        if new_state is IntentState.WRITTEN:
            raise InvalidJournalEntry(reason="WRITTEN is set by record_intent, not an outcome")
        venue = VenueOrderId(venue_order_id) if isinstance(venue_order_id, int) else venue_order_id
        outcome = IntentOutcome(
            state=new_state,
            status=None if status is None else OrderStatus(status),
            venue_order_id=venue,
            detail=detail,
            at_ms=self._clock_ms(),
        )
        result = await self._submit(lambda store: store.update(intent_id, outcome))
        self._outcomes += 1
        return cast(JournaledIntent, result)

    async def reserve_sequences(
        self, *, session: str, strategy: str, symbol: Symbol, count: int
    ) -> range:
        """Reserve ``count`` consecutive intent sequence numbers, never handed out again.

        Reserving a block lets an order actor assign ids synchronously on its hot
        path; numbers of a block left unused at exit are simply skipped.

        Raises:
            InvalidJournalEntry: ``count`` is not a positive int.
            JournalError: The write failed or the journal is closed.
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InvalidJournalEntry(reason="count must be a positive int")
        if not session or not strategy:
            raise InvalidJournalEntry(reason="session and strategy must be non-empty")
        result = await self._submit(
            lambda store: store.reserve(session, strategy, symbol.value, count)
        )
        return cast(range, result)

    async def next_sequence(self, *, session: str, strategy: str, symbol: Symbol) -> int:
        """The next intent sequence number for (session, strategy, symbol); starts at 1.

        Raises:
            JournalError: The write failed or the journal is closed.
        """
        block = await self.reserve_sequences(
            session=session, strategy=strategy, symbol=symbol, count=1
        )
        return block.start

    # -- reads --------------------------------------------------------------------------

    async def non_terminal(self) -> list[JournaledIntent]:
        """Every intent whose latest state is not ``TERMINAL``, oldest first.

        This is what a restarted process must reconcile before strategies run.

        Raises:
            JournalError: The read failed or the journal is closed.
        """
        return cast(list[JournaledIntent], await self._submit(_Store.non_terminal))

    async def find(self, client_order_id: ClientOrderId) -> list[JournaledIntent]:
        """Every intent about ``client_order_id`` (its placement, cancels, modifies), oldest first.

        Raises:
            JournalError: The read failed or the journal is closed.
        """
        value = client_order_id.value
        return cast(list[JournaledIntent], await self._submit(lambda s: s.find(value)))

    async def history(self, intent_id: int) -> list[IntentOutcome]:
        """Every state an intent went through, ``WRITTEN`` first.

        Raises:
            UnknownIntent: No intent has this id.
            JournalError: The read failed or the journal is closed.
        """
        return cast(list[IntentOutcome], await self._submit(lambda s: s.history(intent_id)))

    def statistics(self) -> JournalStatistics:
        """Counters of this process's use of the journal."""
        return JournalStatistics(
            intents=self._intents,
            outcomes=self._outcomes,
            requests=self._requests,
            transactions=self._transactions,
            largest_batch=self._largest_batch,
            failures=self._failures,
            queued=self._inbox.statistics().current_buffer_used,
        )


@asynccontextmanager
async def open_journal(
    path: str | os.PathLike[str] = MEMORY,
    *,
    clock_ms: Callable[[], int] | None = None,
    synchronous: Synchronous = "FULL",
    lock_timeout_s: float = 0.5,
    check: bool = True,
    inbox_size: int = JOURNAL_INBOX_SIZE,
    max_batch: int = JOURNAL_MAX_BATCH,
    on_connect: Callable[[sqlite3.Connection], None] | None = None,
) -> AsyncIterator[Journal]:
    """Open the journal and run its actor for the duration of the block.

    See :meth:`Journal.connect` for the arguments. On exit, queued requests are
    served and the file is closed (its lock released) before the block ends.

    Raises:
        JournalCorrupt: See :meth:`Journal.connect`.
        JournalLocked: See :meth:`Journal.connect`.
        JournalUnavailable: See :meth:`Journal.connect`.
    """
    journal = await Journal.connect(
        path,
        clock_ms=clock_ms,
        synchronous=synchronous,
        lock_timeout_s=lock_timeout_s,
        check=check,
        inbox_size=inbox_size,
        max_batch=max_batch,
        on_connect=on_connect,
    )
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(journal.run)
            try:
                yield journal
            finally:
                # Shielded: queued writes are finished and the lock released even
                # when the block is left by cancellation.
                with trio.CancelScope(shield=True):
                    await journal.aclose()
    except BaseExceptionGroup as group:
        # The nursery is an implementation detail: one failure surfaces as itself.
        if len(group.exceptions) == 1 and not isinstance(group.exceptions[0], BaseExceptionGroup):
            raise group.exceptions[0] from None
        raise
    finally:
        with trio.CancelScope(shield=True):
            await journal.aclose()
