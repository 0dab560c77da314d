"""The dead-man switch heartbeats on virtual time, and the simulator enforces it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
import pytest
import trio
import trio.testing

from trio_fapi.actors._signing import signed_query
from trio_fapi.actors.deadman import CountdownLapsed, DeadManSwitch
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.protocol.errors import ConnectionFailed, ExchangeRejected
from trio_fapi.protocol.ids import Symbol
from trio_fapi.sim import SimHandle, default_config, open_sim

BTC = Symbol("BTCUSDT")
ETH = Symbol("ETHUSDT")
Call = tuple[float, str, int]


class FakeExchange:
    """Records every countdownCancelAll; can fail, hang or answer slowly."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.mode = "ok"  # or "fail", "hang"
        self.latency_s = 0.0
        self.in_flight = 0
        self.max_in_flight: dict[str, int] = {}

    async def send(self, symbol: Symbol, countdown_ms: int) -> None:
        self.calls.append((trio.current_time(), symbol.value, countdown_ms))
        self.in_flight += 1
        self.max_in_flight[symbol.value] = max(
            self.max_in_flight.get(symbol.value, 0), self.in_flight
        )
        try:
            if self.mode == "hang":
                await trio.sleep_forever()
            if self.latency_s:
                await trio.sleep(self.latency_s)
            if self.mode == "fail":
                raise ConnectionFailed(reason="connection refused")
        finally:
            self.in_flight -= 1


@pytest.fixture
def exchange() -> FakeExchange:
    return FakeExchange()


@asynccontextmanager
async def running(switch: DeadManSwitch, *live: Symbol) -> AsyncIterator[trio.CancelScope]:
    """Run the switch and say ``live`` have orders, at once.

    Cancelling the yielded scope is a process that stops dead.
    """
    async with trio.open_nursery() as nursery:
        scope = trio.CancelScope()

        async def run(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
            with scope:
                await switch.run(task_status=task_status)

        await nursery.start(run)
        for symbol in live:
            switch.set_live(symbol, True)
        yield scope
        scope.cancel()


class TestArming:
    """A symbol is armed when it gets its first live order, and only then."""

    async def test_arms_on_first_live_order_only(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        switch = DeadManSwitch(send=exchange.send, countdown_ms=60_000, refresh_s=15.0)
        async with running(switch):
            switch.set_live(BTC, False)  # nothing to disarm: nothing is sent
            await trio.sleep(5)
            assert exchange.calls == []
            switch.set_live(BTC, True)
            switch.set_live(BTC, True)  # idempotent
            await trio.sleep(1)
            switch.set_live(BTC, True)
            await trio.sleep(1)
        assert exchange.calls == [(5.0, "BTCUSDT", 60_000)]

    async def test_live_before_run_is_armed_when_it_starts(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        switch = DeadManSwitch(send=exchange.send)
        switch.set_live(BTC, True)
        await trio.sleep(3)
        async with running(switch):
            await trio.sleep(0.5)
        assert exchange.calls == [(3.0, "BTCUSDT", 60_000)]


class TestRefresh:
    """Heartbeats repeat every refresh_s from the start of the previous one."""

    @pytest.mark.parametrize("latency_s", [0.0, 0.5], ids=["instant", "slow"])
    async def test_cadence_is_exact(
        self, latency_s: float, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        exchange.latency_s = latency_s
        switch = DeadManSwitch(send=exchange.send, countdown_ms=60_000, refresh_s=15.0)
        async with running(switch, BTC):
            await trio.sleep(100)
        assert exchange.calls == [(t, "BTCUSDT", 60_000) for t in (0, 15, 30, 45, 60, 75, 90)]
        assert switch.statistics().heartbeats == 7

    async def test_symbols_beat_independently(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        switch = DeadManSwitch(send=exchange.send, countdown_ms=30_000, refresh_s=10.0)
        async with running(switch, BTC):
            await trio.sleep(7)
            switch.set_live(ETH, True)
            await trio.sleep(25)
        assert [(t, s) for t, s, _ in exchange.calls] == [
            (0, "BTCUSDT"),
            (7, "ETHUSDT"),
            (10, "BTCUSDT"),
            (17, "ETHUSDT"),
            (20, "BTCUSDT"),
            (27, "ETHUSDT"),
            (30, "BTCUSDT"),
        ]


class TestDisarming:
    """countdownTime=0 goes out when the last live order is gone, and on clean shutdown."""

    async def test_disarms_when_the_symbol_has_no_live_orders(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        switch = DeadManSwitch(send=exchange.send, countdown_ms=60_000, refresh_s=15.0)
        async with running(switch, BTC):
            await trio.sleep(20)
            switch.set_live(BTC, False)
            await trio.sleep(100)
            (btc,) = switch.statistics().symbols
        # Disarmed when the next heartbeat would have been due (30 s), not at
        # once: a symbol that goes flat between quotes costs nothing extra.
        assert exchange.calls == [
            (0, "BTCUSDT", 60_000),
            (15, "BTCUSDT", 60_000),
            (30, "BTCUSDT", 0),
        ]
        assert (btc.live, btc.armed) == (False, False)

    async def test_a_disarm_never_overtakes_a_heartbeat_in_flight(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        exchange.latency_s = 1.0
        switch = DeadManSwitch(send=exchange.send)
        async with running(switch, BTC):
            await trio.sleep(0.5)  # the heartbeat is on the wire
            switch.set_live(BTC, False)
            await trio.sleep(60)
        assert exchange.calls == [(0, "BTCUSDT", 60_000), (15.0, "BTCUSDT", 0)]
        assert exchange.max_in_flight == {"BTCUSDT": 1}

    async def test_going_flat_briefly_costs_nothing(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        switch = DeadManSwitch(send=exchange.send, countdown_ms=60_000, refresh_s=15.0)
        async with running(switch, BTC):
            for _ in range(10):  # a market maker: cancel, requote, within seconds
                await trio.sleep(1)
                switch.set_live(BTC, False)
                switch.set_live(BTC, True)
            await trio.sleep(6)
        assert exchange.calls == [(0, "BTCUSDT", 60_000), (15, "BTCUSDT", 60_000)]

    async def test_rearms_when_orders_come_back(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        switch = DeadManSwitch(send=exchange.send, countdown_ms=60_000, refresh_s=15.0)
        async with running(switch, BTC):
            await trio.sleep(5)
            switch.set_live(BTC, False)
            await trio.sleep(20)  # disarmed at 15, when the next beat was due
            switch.set_live(BTC, True)
            await trio.sleep(16)
        assert exchange.calls == [
            (0, "BTCUSDT", 60_000),
            (15, "BTCUSDT", 0),
            (25, "BTCUSDT", 60_000),
            (40, "BTCUSDT", 60_000),
        ]

    async def test_a_failed_disarm_is_retried_until_it_succeeds(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        switch = DeadManSwitch(send=exchange.send, refresh_s=15.0, retry_s=1.0)
        async with running(switch, BTC):
            await trio.sleep(5)
            switch.set_live(BTC, False)
            exchange.mode = "fail"
            await trio.sleep(12.5)  # disarms due at 15 fail at 15, 16, 17
            exchange.mode = "ok"
            await trio.sleep(10)  # 18 succeeds; nothing after it
            (btc,) = switch.statistics().symbols
        assert exchange.calls == [(0, "BTCUSDT", 60_000)] + [
            (t, "BTCUSDT", 0) for t in range(15, 19)
        ]
        assert (btc.armed, btc.failures, btc.consecutive_failures) == (False, 3, 0)
        assert switch.statistics().disarms == 1

    async def test_disarm_all_on_clean_shutdown(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        switch = DeadManSwitch(send=exchange.send, countdown_ms=60_000, refresh_s=15.0)
        async with trio.open_nursery() as nursery:
            await nursery.start(switch.run)
            switch.set_live(BTC, True)
            switch.set_live(ETH, True)
            await trio.sleep(4)
            assert await switch.disarm_all() == ()
            switch.set_live(BTC, True)  # too late: shutting down
            # run() returns by itself: the nursery closes without a cancel.
        await trio.sleep(100)
        assert sorted(exchange.calls) == [
            (0, "BTCUSDT", 60_000),
            (0, "ETHUSDT", 60_000),
            (4, "BTCUSDT", 0),
            (4, "ETHUSDT", 0),
        ]
        stats = switch.statistics()
        assert (stats.closed, stats.disarms, stats.ignored) == (True, 2, 1)
        assert [s.armed for s in stats.symbols] == [False, False]

    async def test_disarm_all_ends_a_linger_at_once(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        switch = DeadManSwitch(send=exchange.send, countdown_ms=60_000, refresh_s=15.0)
        async with trio.open_nursery() as nursery:
            await nursery.start(switch.run)
            switch.set_live(BTC, True)
            await trio.sleep(1)
            switch.set_live(BTC, False)  # flat: lingering until 15 s
            await trio.sleep(1)
            assert await switch.disarm_all() == ()
            assert trio.current_time() == 2.0  # not at the next beat
        assert exchange.calls == [(0, "BTCUSDT", 60_000), (2, "BTCUSDT", 0)]

    async def test_disarm_all_gives_up_after_bounded_tries(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        switch = DeadManSwitch(send=exchange.send, retry_s=1.0, disarm_attempts=3)
        async with trio.open_nursery() as nursery:
            await nursery.start(switch.run)
            switch.set_live(BTC, True)
            await trio.sleep(1)
            exchange.mode = "fail"
            with trio.fail_after(10):
                assert await switch.disarm_all() == (BTC,)
        assert exchange.calls == [
            (0, "BTCUSDT", 60_000),
            (1, "BTCUSDT", 0),
            (2, "BTCUSDT", 0),
            (3, "BTCUSDT", 0),
        ]


class TestFailures:
    """Failed heartbeats are retried soon and counted; a whole countdown of them is loud."""

    async def test_failed_heartbeats_are_retried_and_counted(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        switch = DeadManSwitch(send=exchange.send, refresh_s=15.0, retry_s=1.0)
        async with running(switch, BTC):
            await trio.sleep(14.5)
            exchange.mode = "fail"
            await trio.sleep(5)  # failures at 15, 16, 17, 18, 19
            failing = switch.statistics()
            exchange.mode = "ok"
            await trio.sleep(20)  # 20 succeeds; next at 35
        assert [t for t, _, _ in exchange.calls] == [0, 15, 16, 17, 18, 19, 20, 35]
        assert (failing.failures, failing.symbols[0].consecutive_failures) == (5, 5)
        stats = switch.statistics()
        assert (stats.failures, stats.symbols[0].consecutive_failures, stats.lapses) == (5, 0, 0)

    async def test_a_hanging_heartbeat_times_out_and_counts_as_failed(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        switch = DeadManSwitch(send=exchange.send, retry_s=1.0, send_timeout_s=2.0)
        async with running(switch, BTC):
            await trio.sleep(1)
            exchange.mode = "hang"
            await trio.sleep(19.5)  # 15 hangs until 17; the retry at 18 hangs until 20
        assert [t for t, _, _ in exchange.calls] == [0, 15, 18]
        assert switch.statistics().failures == 2

    async def test_failing_for_a_whole_countdown_is_reported_once(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        lapses: list[CountdownLapsed] = []
        switch = DeadManSwitch(
            send=exchange.send,
            countdown_ms=60_000,
            refresh_s=15.0,
            retry_s=1.0,
            on_lapse=lapses.append,
        )
        async with running(switch, BTC):
            await trio.sleep(10)
            exchange.mode = "fail"  # the last good heartbeat was sent at 0
            await trio.sleep(49.5)
            assert lapses == []  # 59.5 s since it: the countdown may still be running
            await trio.sleep(40)
            (btc,) = switch.statistics().symbols
            assert btc.lapsed
            exchange.mode = "ok"
            await trio.sleep(2)
            (healed,) = switch.statistics().symbols
        assert lapses == [CountdownLapsed(symbol=BTC, last_ok_at=0.0, detected_at=60.0)]
        assert switch.statistics().lapses == 1
        assert (healed.lapsed, healed.armed, healed.consecutive_failures) == (False, True, 0)

    async def test_no_lapse_without_a_heartbeat_that_ever_succeeded(
        self, exchange: FakeExchange, autojump_clock: trio.testing.MockClock
    ) -> None:
        exchange.mode = "fail"
        lapses: list[CountdownLapsed] = []
        switch = DeadManSwitch(send=exchange.send, on_lapse=lapses.append)
        async with running(switch, BTC):
            await trio.sleep(200)
            (btc,) = switch.statistics().symbols
        # Never armed on the exchange, so nothing can have been canceled by it;
        # the failure count says the symbol is unprotected.
        assert lapses == []
        assert btc.heartbeats == 0
        assert btc.consecutive_failures > 100

    @pytest.mark.parametrize(
        ("countdown_ms", "refresh_s"), [(10_000, 10.0), (10_000, 20.0), (0, 1.0)]
    )
    def test_refresh_must_fit_inside_the_countdown(
        self, countdown_ms: int, refresh_s: float
    ) -> None:
        with pytest.raises(ValueError):
            DeadManSwitch(send=FakeExchange().send, countdown_ms=countdown_ms, refresh_s=refresh_s)


# -- against the simulated exchange -----------------------------------------------------------

CREDS = Credentials(api_key="sim-key", api_secret="sim-secret")
RESTING_BUY = (
    ("symbol", "BTCUSDT"),
    ("side", "BUY"),
    ("type", "LIMIT"),
    ("timeInForce", "GTC"),
    ("quantity", "0.010"),
    ("price", "59000.00"),
)


async def _signed(
    http: httpx.AsyncClient,
    sim: SimHandle,
    method: str,
    path: str,
    params: Sequence[tuple[str, str]],
) -> httpx.Response:
    query = signed_query(CREDS, list(params), timestamp_ms=sim.now_ms(), recv_window_ms=5000)
    return await http.request(method, f"{path}?{query}", headers={"X-MBX-APIKEY": "sim-key"})


@asynccontextmanager
async def sim_with_order() -> AsyncIterator[tuple[SimHandle, DeadManSwitch]]:
    """A simulator with one resting BTCUSDT order, and a switch that talks to it."""
    async with (
        open_sim(default_config().still_market()) as sim,
        httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
    ):
        placed = await _signed(http, sim, "POST", "/fapi/v1/order", RESTING_BUY)
        assert placed.json()["status"] == "NEW"

        async def send(symbol: Symbol, countdown_ms: int) -> None:
            r = await _signed(
                http,
                sim,
                "POST",
                "/fapi/v1/countdownCancelAll",
                [("symbol", symbol.value), ("countdownTime", str(countdown_ms))],
            )
            if r.status_code != 200:
                raise ExchangeRejected(http_status=r.status_code, code=r.json()["code"], msg="")

        switch = DeadManSwitch(send=send, countdown_ms=10_000, refresh_s=3.0)
        yield sim, switch


def _open_orders(sim: SimHandle) -> int:
    return len(sim.exchange.ledger.all_open_orders("BTCUSDT"))


class TestAgainstTheSimulator:
    """The simulated exchange cancels when heartbeats stop, and only then."""

    async def test_heartbeats_keep_orders_alive(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with sim_with_order() as (sim, switch), running(switch, BTC):
            await trio.sleep(120)  # twelve countdowns
            assert _open_orders(sim) == 1

    async def test_a_process_that_hangs_has_its_orders_canceled(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with sim_with_order() as (sim, switch):
            async with running(switch, BTC) as process:
                await trio.sleep(31)
                process.cancel()  # the process stops dead: no more heartbeats, no disarm
            # The last heartbeat went out at 30 with a 10 s countdown.
            await trio.sleep(39.9 - trio.current_time())
            assert _open_orders(sim) == 1
            await trio.sleep(0.5)
            assert _open_orders(sim) == 0
            orders = sim.ledger()["orders"]
            assert isinstance(orders, list)
            assert [o["status"] for o in orders] == ["CANCELED"]

    async def test_a_clean_shutdown_disarms(self, autojump_clock: trio.testing.MockClock) -> None:
        async with sim_with_order() as (sim, switch):
            async with trio.open_nursery() as nursery:
                await nursery.start(switch.run)
                switch.set_live(BTC, True)
                await trio.sleep(30)
                assert await switch.disarm_all() == ()
            await trio.sleep(60)  # six countdowns without heartbeats
            assert _open_orders(sim) == 1
