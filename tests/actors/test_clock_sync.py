"""The clock sync actor measures the server offset on virtual time, exactly.

Latencies are multiples of 1/8 s so that every instant is a whole number of
milliseconds and the expected offsets are exact.
"""

from __future__ import annotations

import math

import attrs
import httpx
import pytest
import trio
import trio.testing

from trio_fapi._time import AnchoredClock
from trio_fapi.actors._signing import signed_query
from trio_fapi.actors.clock_sync import ClockSync, http_date_bounds
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.protocol.errors import ConnectionFailed, EngineClosed
from trio_fapi.sim import default_config, open_sim

from .support import running

E0 = 1_700_000_000_000


class FakeServer:
    """A server clock at a known offset (optionally drifting) behind a fake network."""

    def __init__(self, local: AnchoredClock, offset_ms: int, drift_ms_per_s: float = 0.0) -> None:
        self.local = local
        self.offset_ms = offset_ms
        self.drift_ms_per_s = drift_ms_per_s
        self.latencies: list[tuple[float, float]] = []  # (request, response) per call
        self.default_latency = (0.125, 0.125)
        self.mode = "ok"  # or "fail", "hang"
        self.calls: list[float] = []

    def true_offset(self) -> int:
        return self.offset_ms + math.floor(self.drift_ms_per_s * trio.current_time())

    async def fetch(self) -> int:
        self.calls.append(trio.current_time())
        up, down = self.latencies.pop(0) if self.latencies else self.default_latency
        if self.mode == "hang":
            await trio.sleep_forever()
        await trio.sleep(up)
        if self.mode == "fail":
            raise ConnectionFailed(reason="connection refused")
        server_ms = self.local() + self.true_offset()
        await trio.sleep(down)
        return server_ms


def _sync(server: FakeServer, **kwargs: object) -> ClockSync:
    options: dict[str, object] = {"sample_gap_s": 0.125, "clock": server.local}
    options.update(kwargs)
    return ClockSync(fetch_server_ms=server.fetch, **options)  # type: ignore[arg-type]


class TestMeasurement:
    """The offset is serverTime minus the round-trip midpoint, median over samples."""

    @pytest.mark.parametrize("offset_ms", [2500, -1800, 0], ids=["ahead", "behind", "equal"])
    async def test_known_offset_with_symmetric_latency(
        self, offset_ms: int, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), offset_ms)
        sync = _sync(server)
        async with running(sync):
            stats = sync.statistics()
            assert stats.offset_ms == offset_ms
            assert sync.now_ms() == server.local() + offset_ms
            assert (stats.synced, stats.rounds, stats.samples, stats.last_rtt_ms) == (
                True,
                1,
                5,
                250,
            )

    async def test_asymmetric_latency_errs_by_half_the_difference(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), 2500)
        server.default_latency = (0.375, 0.125)  # the request is slower than the answer
        sync = _sync(server)
        async with running(sync):
            # serverTime is read 375 ms after sending; the midpoint is at 250 ms.
            assert sync.offset_ms() == 2500 + 125
            assert abs(sync.offset_ms() - 2500) <= 500 / 2  # never worse than RTT / 2

    async def test_median_ignores_outliers_and_rtt_bound_discards_slow_samples(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), -700)
        server.latencies = [
            (0.125, 0.125),
            (2.0, 1.0),  # RTT 3 s: discarded
            (0.875, 0.0),  # all delay on the request side: +437.5 ms off, within bound
            (0.125, 0.125),
            (0.125, 0.125),
        ]
        sync = _sync(server, max_rtt_ms=1000)
        async with running(sync):
            stats = sync.statistics()
            assert stats.offset_ms == -700
            assert (stats.samples, stats.rejected_samples) == (4, 1)

    async def test_too_few_good_samples_is_a_failed_round(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), 900)
        server.latencies = [(0.125, 0.125), (1.0, 1.0), (1.0, 1.0), (1.0, 1.0), (0.125, 0.125)]
        sync = _sync(server, min_samples=3, max_rtt_ms=1000)
        async with running(sync):  # started even though the first round failed
            stats = sync.statistics()
            assert (stats.synced, stats.offset_ms, stats.failures) == (False, 0, 1)
            assert sync.now_ms() == server.local()


class TestPeriodicResync:
    """Rounds repeat every interval and follow a drifting server clock."""

    async def test_rounds_start_every_interval_after_the_last_one_ended(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), 100)
        sync = _sync(server, interval_s=300.0)
        async with running(sync):
            await trio.sleep(1000)
        # A round is 5 samples of 0.25 s with 4 gaps of 0.125 s: 1.75 s.
        round_starts = server.calls[::5]
        assert round_starts == [0.0, 301.75, 603.5, 905.25]
        assert sync.statistics().rounds == 4

    async def test_tracks_a_drifting_server_clock(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), 1000, drift_ms_per_s=0.5)  # 1800 ms/h
        sync = _sync(server, interval_s=300.0)
        async with running(sync):
            first = sync.offset_ms()
            await trio.sleep(3600)
            stats = sync.statistics()
        assert first == 1000
        # The offset is the server's at the last round (which took 1.75 s), not older.
        assert stats.last_sync_at is not None
        assert abs(stats.offset_ms - (1000 + 0.5 * stats.last_sync_at)) <= 1
        assert stats.drift_ms_per_hour is not None
        assert stats.drift_ms_per_hour == pytest.approx(1800, abs=15)
        assert stats.last_change_ms is not None
        assert stats.last_change_ms == pytest.approx(150, abs=2)


class TestResyncOnDemand:
    """resync() starts a round at once; concurrent demands share it."""

    async def test_concurrent_demands_share_one_round(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), 0)
        sync = _sync(server, interval_s=3600.0)
        results: list[bool] = []

        async def demand() -> None:
            results.append(await sync.resync())

        async with running(sync):
            server.offset_ms = 1234  # e.g. the exchange answered -1021
            await trio.sleep(10)
            async with trio.open_nursery() as callers:
                for _ in range(20):
                    callers.start_soon(demand)
            assert results == [True] * 20
            assert len(server.calls) == 10  # start-up round + one shared round
            assert server.calls[5] == 1.75 + 10  # the shared round started at once
            assert sync.offset_ms() == 1234

    async def test_a_demand_during_a_round_waits_for_a_fresh_round(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), 0)
        sync = _sync(server, interval_s=3600.0)
        answered_at: dict[str, float] = {}

        async def demand(name: str) -> None:
            await sync.resync()
            answered_at[name] = trio.current_time()

        async with running(sync), trio.open_nursery() as callers:
            callers.start_soon(demand, "first")  # starts a round at 1.75
            await trio.sleep(0.5)  # that round is under way
            server.offset_ms = 777  # the round under way may have missed this
            callers.start_soon(demand, "second")
            callers.start_soon(demand, "third")
        assert len(server.calls) == 15  # start-up + first's round + one more, shared
        assert answered_at["first"] == 1.75 + 1.75
        assert answered_at["second"] == answered_at["third"] == 1.75 + 1.75 + 1.75
        assert sync.offset_ms() == 777

    async def test_resync_needs_a_running_actor(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), 0)
        sync = _sync(server)
        with pytest.raises(EngineClosed):
            await sync.resync()

    async def test_waiters_are_released_when_the_actor_stops(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), 0)
        sync = _sync(server)
        outcome: list[str] = []

        async def demand() -> None:
            try:
                await sync.resync()
                outcome.append("answered")
            except EngineClosed:
                outcome.append("closed")

        async with trio.open_nursery() as outer:
            actor_scope = trio.CancelScope()

            async def run_actor(
                *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
            ) -> None:
                with actor_scope:
                    await sync.run(task_status=task_status)

            await outer.start(run_actor)
            server.mode = "hang"
            outer.start_soon(demand)
            await trio.sleep(1)
            actor_scope.cancel()
        assert outcome == ["closed"]
        with pytest.raises(EngineClosed):  # and later callers are refused at once
            await sync.resync()


class TestFailures:
    """A failed round keeps the last good offset, is counted, and is retried sooner."""

    @pytest.mark.parametrize("mode", ["fail", "hang"])
    async def test_failures_keep_the_last_good_offset(
        self, mode: str, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), 400)
        sync = _sync(server, interval_s=300.0, retry_s=5.0, sample_timeout_s=2.0)
        async with running(sync):
            server.mode = mode
            server.offset_ms = 9999  # unseen while the server is unreachable
            assert await sync.resync() is False
            stats = sync.statistics()
            assert (stats.offset_ms, stats.failures, stats.consecutive_failures) == (400, 1, 1)
            assert stats.sample_errors == 5
            failed_at = trio.current_time()
            server.mode = "ok"
            # The next round comes after retry_s, not after interval_s.
            await trio.sleep(7.0)
            stats = sync.statistics()
            assert (stats.offset_ms, stats.consecutive_failures, stats.failures) == (9999, 0, 1)
            assert stats.last_sync_at == failed_at + 5.0 + 1.75

    async def test_some_failed_samples_do_not_fail_the_round(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), -250)
        calls = 0
        real_fetch = server.fetch

        async def flaky() -> int:
            nonlocal calls
            calls += 1
            if calls in (2, 4):
                raise ConnectionFailed(reason="reset")
            return await real_fetch()

        sync = ClockSync(fetch_server_ms=flaky, clock=server.local, sample_gap_s=0.125)
        async with running(sync):
            stats = sync.statistics()
            assert (stats.offset_ms, stats.samples, stats.sample_errors) == (-250, 3, 2)
            assert stats.failures == 0


class TestPassiveObservations:
    """An observation that contradicts the offset triggers a resync; one that fits does not."""

    def test_http_date_bounds(self) -> None:
        assert http_date_bounds("Tue, 15 Nov 1994 08:12:31 GMT") == (
            784_887_151_000,
            784_887_151_999,
        )
        assert http_date_bounds("not a date") is None
        assert http_date_bounds("Tue, 15 Nov 1994 08:12:31") is None  # no time zone

    async def test_consistent_observation_changes_nothing(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), 3000)
        sync = _sync(server, interval_s=3600.0)
        async with running(sync):
            await trio.sleep(60)
            sent = sync.local_ms()
            received = sent + 80
            whole_second = (sent + 40 + 3000) // 1000 * 1000  # a Date header's precision
            assert sync.observe_server_time(
                server_ms_low=whole_second,
                server_ms_high=whole_second + 999,
                sent_local_ms=sent,
                received_local_ms=received,
            )
            await trio.sleep(60)
            assert (len(server.calls), sync.statistics().hint_conflicts) == (5, 0)

    async def test_contradicting_observation_triggers_one_resync(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        server = FakeServer(AnchoredClock(epoch_ms=E0), 3000)
        sync = _sync(server, interval_s=3600.0, hint_resync_gap_s=30.0)
        async with running(sync):
            await trio.sleep(60)
            server.offset_ms = 6000  # the server clock stepped by 3 s
            for _ in range(3):
                now = sync.local_ms()
                assert not sync.observe_server_time(
                    server_ms_low=now + 6000,
                    server_ms_high=now + 6000,
                    sent_local_ms=now,
                    received_local_ms=now,
                )
            await trio.sleep(10)
            stats = sync.statistics()
            assert (stats.offset_ms, stats.hint_conflicts, stats.rounds) == (6000, 3, 2)
            assert len(server.calls) == 10


class TestAgainstTheSimulator:
    """Against the simulated exchange, corrected timestamps pass where raw ones get -1021."""

    async def test_signed_requests_use_the_measured_offset(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        offset = -2500  # the server is 2.5 s behind: raw timestamps are "ahead" (-1021)
        config = attrs.evolve(
            default_config().still_market(),
            server_time_offset_ms=offset,
            response_latency_s=0.125,
        )
        creds = Credentials(api_key="sim-key", api_secret="sim-secret")
        async with (
            open_sim(config) as sim,
            httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
        ):

            def local() -> int:  # the engine's clock, here exactly `offset` off the server's
                return sim.now_ms() - offset

            async def fetch() -> int:
                try:
                    response = await http.get("/fapi/v1/time")
                except httpx.HTTPError as exc:  # pragma: no cover - in-process transport
                    raise ConnectionFailed(reason=type(exc).__name__) from None
                value = response.json()["serverTime"]
                assert isinstance(value, int)
                return value

            async def open_orders(timestamp_ms: int) -> httpx.Response:
                query = signed_query(
                    creds, [("symbol", "BTCUSDT")], timestamp_ms=timestamp_ms, recv_window_ms=5000
                )
                return await http.get(
                    f"/fapi/v1/openOrders?{query}", headers={"X-MBX-APIKEY": "sim-key"}
                )

            sync = ClockSync(fetch_server_ms=fetch, clock=local)
            async with running(sync):
                # Answers take 0.125 s, requests none: the estimate errs by up to 62.5 ms.
                assert abs(sync.offset_ms() - offset) <= 63
                raw = await open_orders(local())
                corrected = await open_orders(sync.now_ms())
        assert (raw.status_code, raw.json()["code"]) == (400, -1021)
        assert corrected.status_code == 200
