"""The clock sync actor: owns the server clock offset that signed timestamps carry.

Binance refuses a signed request whose ``timestamp`` is more than 1000 ms ahead
of its clock or older than ``recvWindow`` (-1021). The engine's local clock is
an :class:`~trio_fapi._time.AnchoredClock` (wall time read once, then trio's
clock), so a host NTP step cannot jump it, but it drifts slowly against the
server, and the offset measured at start-up goes stale. This actor keeps it
fresh:

- **Sampling.** One sample is one ``GET /fapi/v1/time`` round trip:
  ``offset = serverTime - (t_send + t_recv) / 2``. Its error is at most half
  the round trip (all latency on one side), so samples whose round trip exceeds
  ``max_rtt_ms`` are discarded, and a round takes the median of the rest, which
  ignores the odd sample that had all its delay on one side.
- **When.** At start, every ``interval_s`` after that, sooner (``retry_s``)
  after a failed round, and on demand (:meth:`ClockSync.resync`, for -1021).
  Concurrent demands share one round: every caller waits for the first round
  that *starts* after it asked, so its evidence is never older than its request.
- **Failures.** A round with fewer than ``min_samples`` good samples changes
  nothing: the last good offset stays in force, and the failure is counted.
- **Passive checks.** Binance's response headers carry no millisecond server
  time (only usage counters), so they cannot refine the estimate. A server
  time known to lie in an interval (the standard HTTP ``Date`` header, with
  one-second resolution, via :func:`http_date_bounds`; or a millisecond time in
  a response body) can still *contradict* it: :meth:`ClockSync.observe_server_time`
  counts the contradiction and asks for a resync.

The fetch function is injected (in the engine: a ``GET /fapi/v1/time`` through
the limiter's PRIORITY lane), so the actor is tested against a fake server
clock on trio's virtual clock.
"""

from __future__ import annotations

import logging
import math
import statistics as stats
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime

import attrs
import trio

from trio_fapi._time import AnchoredClock
from trio_fapi.protocol.errors import EngineClosed, EngineError

__all__ = ["ClockSync", "ClockSyncStatistics", "FetchServerTime", "http_date_bounds"]

log = logging.getLogger("trio_fapi.clock")

#: Returns the exchange's ``serverTime`` (epoch ms); raises ``EngineError`` on failure.
FetchServerTime = Callable[[], Awaitable[int]]


@attrs.frozen(kw_only=True)
class ClockSyncStatistics:
    """A snapshot of the clock sync actor.

    Attributes:
        offset_ms: Server time minus local time, in force now.
        synced: Whether any round has succeeded yet (before that the offset is 0).
        last_rtt_ms: Round trip of the most recent sample that got an answer.
        drift_ms_per_hour: How fast the offset moved between the last two
            measurements at least ``min_drift_span_s`` apart; ``None`` until known.
        last_change_ms: How much the last successful round moved the offset.
        samples: Samples used (round trip within bound), all rounds.
        rejected_samples: Samples discarded for a round trip above ``max_rtt_ms``.
        sample_errors: Samples that failed or timed out.
        rounds: Successful rounds.
        failures: Rounds that kept the previous offset (too few good samples).
        consecutive_failures: Failed rounds since the last successful one.
        last_sync_at: Trio time of the last successful round; ``None`` before one.
        hint_conflicts: Passive observations that contradicted the offset.
    """

    offset_ms: int
    synced: bool
    last_rtt_ms: int | None
    drift_ms_per_hour: float | None
    last_change_ms: int | None
    samples: int
    rejected_samples: int
    sample_errors: int
    rounds: int
    failures: int
    consecutive_failures: int
    last_sync_at: float | None
    hint_conflicts: int


def http_date_bounds(value: str) -> tuple[int, int] | None:
    """The epoch-ms interval an HTTP ``Date`` header value stands for.

    ``Date`` has one-second resolution (RFC 9110, section 5.6.7), so
    ``Tue, 15 Nov 1994 08:12:31 GMT`` means some instant in
    ``[08:12:31.000, 08:12:31.999]``.

    Returns:
        ``(low_ms, high_ms)``, or ``None`` for a value that is not an HTTP date
        with a time zone.
    """
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    low = int(when.timestamp()) * 1000
    return low, low + 999


class ClockSync:
    """Measures and owns the server clock offset.

    Start it in a nursery the caller owns: ``await nursery.start(sync.run)``
    returns after the first round (successful or not; see
    :attr:`ClockSyncStatistics.synced`). Construct it inside a trio run.

    Args:
        fetch_server_ms: Fetches ``serverTime``; raises an ``EngineError`` on failure.
        clock: Local epoch milliseconds (the clock the signer uses); a new
            :class:`~trio_fapi._time.AnchoredClock` when omitted.
        samples: Round trips per round.
        min_samples: Good samples a round needs to change the offset.
        max_rtt_ms: Samples with a longer round trip are discarded.
        interval_s: Time between periodic rounds.
        retry_s: Time before the next round after a failed one.
        sample_timeout_s: A sample with no answer by then counts as an error.
        sample_gap_s: Pause between the samples of one round.
        min_drift_span_s: Drift is measured over at least this much time, so two
            rounds close together do not turn noise into a huge rate.
        hint_slack_ms: Extra tolerance of :meth:`observe_server_time`.
        hint_resync_gap_s: A contradicting observation asks for a round only if
            none started within this time (a wrong hint cannot cause a storm).

    Raises:
        ValueError: A count or duration out of range.
    """

    def __init__(
        self,
        *,
        fetch_server_ms: FetchServerTime,
        clock: Callable[[], int] | None = None,
        samples: int = 5,
        min_samples: int = 3,
        max_rtt_ms: int = 1000,
        interval_s: float = 300.0,
        retry_s: float = 5.0,
        sample_timeout_s: float = 5.0,
        sample_gap_s: float = 0.05,
        min_drift_span_s: float = 60.0,
        hint_slack_ms: int = 5,
        hint_resync_gap_s: float = 30.0,
    ) -> None:
        if not 1 <= min_samples <= samples:
            raise ValueError("need 1 <= min_samples <= samples")
        if max_rtt_ms <= 0 or hint_slack_ms < 0:
            raise ValueError("max_rtt_ms must be > 0 and hint_slack_ms >= 0")
        for name, value in (
            ("interval_s", interval_s),
            ("retry_s", retry_s),
            ("sample_timeout_s", sample_timeout_s),
            ("min_drift_span_s", min_drift_span_s),
        ):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, not {value!r}")
        if not (math.isfinite(sample_gap_s) and sample_gap_s >= 0):
            raise ValueError("sample_gap_s must be a finite number >= 0")
        if not (math.isfinite(hint_resync_gap_s) and hint_resync_gap_s >= 0):
            raise ValueError("hint_resync_gap_s must be a finite number >= 0")
        self._fetch = fetch_server_ms
        self._clock = clock if clock is not None else AnchoredClock()
        self._samples = samples
        self._min_samples = min_samples
        self._max_rtt_ms = max_rtt_ms
        self._interval_s = interval_s
        self._retry_s = retry_s
        self._sample_timeout_s = sample_timeout_s
        self._sample_gap_s = sample_gap_s
        self._min_drift_span_s = min_drift_span_s
        self._hint_slack_ms = hint_slack_ms
        self._hint_resync_gap_s = hint_resync_gap_s

        self._offset_ms = 0
        self._running = False
        self._wake = trio.Event()
        self._round_done = trio.Event()
        self._rounds_started = 0
        self._last_round_ok = False
        self._last_round_started_at = -math.inf
        self._drift_ref: tuple[float, int] | None = None
        self._drift: float | None = None
        self._last_change: int | None = None
        self._last_rtt: int | None = None
        self._used = 0
        self._rejected = 0
        self._errors = 0
        self._rounds_ok = 0
        self._failures = 0
        self._consecutive_failures = 0
        self._last_sync_at: float | None = None
        self._hint_conflicts = 0

    @property
    def _synced(self) -> bool:
        return self._rounds_ok > 0

    @property
    def _rounds_finished(self) -> int:
        return self._rounds_ok + self._failures

    # -- what the signer reads ------------------------------------------------------------

    def now_ms(self) -> int:
        """Server time estimate, epoch ms: what a signed ``timestamp`` should carry."""
        return self._clock() + self._offset_ms

    def offset_ms(self) -> int:
        """Server time minus local time, in ms (0 until the first good round)."""
        return self._offset_ms

    def local_ms(self) -> int:
        """The uncorrected local clock, epoch ms (for :meth:`observe_server_time`)."""
        return self._clock()

    # -- life cycle ------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Sample now, report started, then resync periodically and on demand.

        Runs until cancelled. Callers waiting in :meth:`resync` when it stops get
        :class:`~trio_fapi.protocol.errors.EngineClosed`.
        """
        self._running = True
        try:
            await self._round()
            task_status.started()
            while True:
                delay = self._retry_s if self._consecutive_failures else self._interval_s
                with trio.move_on_after(delay):
                    await self._wake.wait()
                await self._round()
        finally:
            self._running = False
            self._round_done.set()

    async def resync(self) -> bool:
        """Measure again now (for example after -1021); wait for the result.

        Concurrent callers share one round. The round waited for is the first
        one that starts after this call, never one already under way.

        Returns:
            Whether that round produced a new offset (if not, the last good one
            stays in force and the failure is counted).

        Raises:
            EngineClosed: The actor is not running, or stopped while waiting.
        """
        if not self._running:
            raise EngineClosed()
        target = self._rounds_started + 1
        self._wake.set()
        while self._rounds_finished < target:
            if not self._running:
                raise EngineClosed()
            await self._round_done.wait()
        return self._last_round_ok

    def request_resync(self) -> None:
        """Ask for a round soon without waiting (for code that cannot await)."""
        self._wake.set()

    def observe_server_time(
        self,
        *,
        server_ms_low: int,
        server_ms_high: int,
        sent_local_ms: int,
        received_local_ms: int,
    ) -> bool:
        """Check the offset against a passive observation of the server's clock.

        The observation says: at some instant between ``sent_local_ms`` and
        ``received_local_ms`` (local clock, :meth:`local_ms`), the server's clock
        read between ``server_ms_low`` and ``server_ms_high``. The offsets that
        fit are ``[low - received, high - sent]``. An offset outside that range
        (plus ``hint_slack_ms``) is wrong: the contradiction is counted and a
        round is requested, unless one started within ``hint_resync_gap_s``.
        The estimate itself is never moved by a hint.

        Returns:
            False when the observation contradicts the offset in force.
        """
        if not self._synced:
            return True
        low = server_ms_low - received_local_ms - self._hint_slack_ms
        high = server_ms_high - sent_local_ms + self._hint_slack_ms
        if low <= self._offset_ms <= high:
            return True
        self._hint_conflicts += 1
        log.warning(
            "server clock observation contradicts offset %d ms (fits %d..%d ms)",
            self._offset_ms,
            low,
            high,
        )
        if trio.current_time() - self._last_round_started_at >= self._hint_resync_gap_s:
            self.request_resync()
        return False

    def statistics(self) -> ClockSyncStatistics:
        """The offset, its drift, and how the measurements went."""
        return ClockSyncStatistics(
            offset_ms=self._offset_ms,
            synced=self._synced,
            last_rtt_ms=self._last_rtt,
            drift_ms_per_hour=self._drift,
            last_change_ms=self._last_change,
            samples=self._used,
            rejected_samples=self._rejected,
            sample_errors=self._errors,
            rounds=self._rounds_ok,
            failures=self._failures,
            consecutive_failures=self._consecutive_failures,
            last_sync_at=self._last_sync_at,
            hint_conflicts=self._hint_conflicts,
        )

    # -- sampling -------------------------------------------------------------------------

    async def _round(self) -> None:
        # Demands made from now on need a round that starts after this one.
        self._wake = trio.Event()
        self._rounds_started += 1
        self._last_round_started_at = trio.current_time()
        offsets: list[float] = []
        for i in range(self._samples):
            if i and self._sample_gap_s:
                await trio.sleep(self._sample_gap_s)
            offset = await self._sample()
            if offset is not None:
                offsets.append(offset)
        ok = len(offsets) >= self._min_samples
        if ok:
            self._accept(round(stats.median(offsets)))
        else:
            self._failures += 1
            self._consecutive_failures += 1
            log.warning(
                "clock sync failed (%d of %d samples usable); keeping offset %d ms",
                len(offsets),
                self._samples,
                self._offset_ms,
            )
        self._last_round_ok = ok
        done, self._round_done = self._round_done, trio.Event()
        done.set()

    async def _sample(self) -> float | None:
        before = self._clock()
        with trio.move_on_after(self._sample_timeout_s):
            try:
                server = await self._fetch()
            except EngineError as exc:
                self._errors += 1
                log.debug("server time sample failed: %s", exc)
                return None
            after = self._clock()
            if isinstance(server, bool) or not isinstance(server, int):
                self._errors += 1
                return None
            rtt = after - before
            self._last_rtt = rtt
            if rtt > self._max_rtt_ms:
                self._rejected += 1
                return None
            self._used += 1
            return server - (before + after) / 2
        self._errors += 1
        return None

    def _accept(self, offset: int) -> None:
        now = trio.current_time()
        self._last_change = offset - self._offset_ms if self._synced else None
        if self._drift_ref is None:
            self._drift_ref = (now, offset)
        else:
            ref_at, ref_offset = self._drift_ref
            if now - ref_at >= self._min_drift_span_s:
                self._drift = (offset - ref_offset) * 3600 / (now - ref_at)
                self._drift_ref = (now, offset)
        self._offset_ms = offset
        self._rounds_ok += 1
        self._consecutive_failures = 0
        self._last_sync_at = now
        log.debug("server clock offset %d ms", offset)
