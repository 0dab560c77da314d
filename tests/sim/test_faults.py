"""Fault injection seen from a raw httpx client on the in-process sim.

Each fault is checked from both sides: what the client gets (an exception, a
503, a broken body, a late answer) and what the exchange's ledger holds, since
the whole point of "applied, then the answer was lost" is that the two differ.
Rows refer to the catalogue in faults.md part b.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import attrs
import httpx
import pytest
import trio
import trio.testing

from trio_fapi._time import AnchoredClock
from trio_fapi.sim import (
    SIGNED_ROUTES,
    FaultKind,
    FaultPlan,
    FaultStep,
    InjectedFault,
    SimHandle,
    open_sim,
)

from .conftest import SimClient, still_config

UNKNOWN_ERROR = "Unknown error, please check your request or try again later."
NEW_ORDER = ("POST", "/fapi/v1/order")


def limit_buy(client_id: str, price: str = "59000.00", symbol: str = "BTCUSDT") -> dict[str, str]:
    """A LIMIT BUY that rests (BTC starts at 60000 on the still market)."""
    return {
        "symbol": symbol,
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.010" if symbol == "BTCUSDT" else "0.100",
        "price": price if symbol == "BTCUSDT" else "2900.00",
        "newClientOrderId": client_id,
    }


def ledger_orders(sim: SimHandle) -> dict[str, dict[str, object]]:
    """The ledger's orders by client order id."""
    orders = sim.ledger()["orders"]
    assert isinstance(orders, list)
    return {str(o["clientOrderId"]): o for o in orders}


def kinds(sim: SimHandle) -> list[FaultKind]:
    return [f.kind for f in sim.injected_faults()]


def step(
    kind: FaultKind,
    nth: int = 1,
    *,
    method: str = "POST",
    path: str = "/fapi/v1/order",
    times: int = 1,
    symbol: str | None = None,
    delay_s: float | None = None,
) -> FaultStep:
    """A step on new-order POSTs unless told otherwise."""
    return FaultStep(
        fault=kind,
        method=method,
        path=path,
        nth=nth,
        times=times,
        symbol=symbol,
        delay_s=delay_s,
    )


async def place_at(client: SimClient, timestamp: int, params: dict[str, str]) -> httpx.Response:
    """A new order signed with the client's own ``timestamp``."""
    items = [*params.items(), ("newOrderRespType", "RESULT")]
    return await client.signed("POST", "/fapi/v1/order", items, timestamp=timestamp)


@asynccontextmanager
async def faulty(plan: FaultPlan | None) -> AsyncIterator[tuple[SimHandle, SimClient]]:
    """A still-market sim with ``plan`` from the first request, and a client on it."""
    async with (
        open_sim(still_config(), faults=plan) as sim,
        httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
    ):
        yield sim, SimClient(http, sim)


class TestDropBefore:
    """Row 14: the request never reaches the exchange."""

    async def test_client_cannot_connect_and_nothing_is_applied(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with faulty(FaultPlan.scripted(step(FaultKind.DROP))) as (sim, client):
            with pytest.raises(httpx.ConnectError):
                await client.order(**limit_buy("dropped"))
            assert ledger_orders(sim) == {}
            assert sim.stats()["requests_by_path"] == {}
            (fault,) = sim.injected_faults()
            assert (fault.kind, fault.client_order_id) == (FaultKind.DROP, "dropped")


class TestAppliedThenLost:
    """Row 15: applied, then the connection dies before any answer."""

    async def test_client_gets_a_read_error_and_the_order_exists(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with faulty(FaultPlan.scripted(step(FaultKind.LOST))) as (sim, client):
            with pytest.raises(httpx.TransportError) as caught:
                await client.order(**limit_buy("lost-1"))
            # Not a connect error: a client must not take it for "never sent".
            assert not isinstance(caught.value, httpx.ConnectError)
            assert isinstance(caught.value, httpx.RemoteProtocolError)
            assert ledger_orders(sim)["lost-1"]["status"] == "NEW"
            assert kinds(sim) == [FaultKind.LOST]


class TestAppliedThen503Unknown:
    """Row 8: applied, then 503 "Unknown error" in Binance's codeless shape."""

    async def test_client_gets_the_unknown_error_and_the_order_exists(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with faulty(FaultPlan.scripted(step(FaultKind.UNKNOWN_503))) as (sim, client):
            response = await client.order(**limit_buy("maybe"))
            assert response.status_code == 503
            body = response.json()
            assert body["msg"] == UNKNOWN_ERROR
            assert body["path"] == "/fapi/v1/order"
            assert "code" not in body
            assert ledger_orders(sim)["maybe"]["status"] == "NEW"


class TestDelayPastTheDeadline:
    """Rows 13 and 17: applied at once, answered late on trio's clock."""

    async def test_the_answer_arrives_after_exactly_the_delay(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        plan = FaultPlan.scripted(step(FaultKind.DELAY), delay_s=12.5)
        async with faulty(plan) as (_sim, client):
            start = trio.current_time()
            response = await client.order(**limit_buy("slow"))
            assert response.status_code == 200
            assert trio.current_time() - start == pytest.approx(12.5)

    async def test_a_client_deadline_fires_first_and_the_order_stands(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with faulty(FaultPlan.scripted(step(FaultKind.DELAY))) as (sim, client):
            with trio.move_on_after(10) as scope:
                await client.order(**limit_buy("late"))
            assert scope.cancelled_caught
            assert ledger_orders(sim)["late"]["status"] == "NEW"

    async def test_a_step_can_set_its_own_delay(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        plan = FaultPlan.scripted(step(FaultKind.DELAY, delay_s=2.0), delay_s=60.0)
        async with faulty(plan) as (_sim, client):
            start = trio.current_time()
            await client.order(**limit_buy("two-seconds"))
            assert trio.current_time() - start == pytest.approx(2.0)


class TestCorruptBody:
    """Row 19: applied, then 200 with a body that does not parse."""

    async def test_client_gets_a_truncated_200_and_the_order_exists(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with faulty(FaultPlan.scripted(step(FaultKind.CORRUPT))) as (sim, client):
            response = await client.order(**limit_buy("garbled"))
            assert response.status_code == 200
            assert response.content
            with pytest.raises(ValueError):
                json.loads(response.content)
            assert ledger_orders(sim)["garbled"]["status"] == "NEW"


def client_clock(sim: SimHandle) -> AnchoredClock:
    """A client's own epoch-ms clock, in step with the exchange's clock right now."""
    return AnchoredClock(epoch_ms=sim.now_ms())


class TestClockSkew:
    """Row 22: the exchange's clock moves, and signed requests meet -1021."""

    async def test_exchange_ahead_refuses_until_the_client_remeasures(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with faulty(None) as (sim, client):
            own = client_clock(sim)
            sim.set_faults(FaultPlan(skew_ms=10_000))
            refused = await place_at(client, own(), limit_buy("skewed"))
            assert refused.status_code == 400
            assert refused.json() == {
                "code": -1021,
                "msg": "Timestamp for this request is outside of the recvWindow.",
            }
            assert ledger_orders(sim) == {}
            assert kinds(sim) == [FaultKind.SKEW]
            server_time = (await client.public("GET", "/fapi/v1/time")).json()["serverTime"]
            assert server_time - own() == 10_000
            accepted = await place_at(client, server_time, limit_buy("skewed"))
            assert accepted.status_code == 200

    async def test_exchange_behind_says_the_request_is_ahead(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with faulty(None) as (sim, client):
            own = client_clock(sim)
            await trio.sleep(10)  # room for the exchange's clock to sit 5 s behind
            sim.set_faults(FaultPlan(skew_ms=-5_000))
            await trio.sleep(6)  # exchange time stands still until it is 5 s behind
            refused = await place_at(client, own(), limit_buy("ahead"))
            assert refused.json()["code"] == -1021
            assert "ahead of the server's time" in refused.json()["msg"]
            server_time = (await client.public("GET", "/fapi/v1/time")).json()["serverTime"]
            assert own() - server_time == 5_000


class TestQueryLag:
    """Row 33: a young order is invisible to queries, then appears."""

    async def test_query_says_no_such_order_until_the_lag_has_passed(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with faulty(FaultPlan(query_lag_ms=2_000)) as (sim, client):
            placed = await client.order(**limit_buy("young"))
            assert placed.status_code == 200
            ref = [("symbol", "BTCUSDT"), ("origClientOrderId", "young")]
            hidden = await client.signed("GET", "/fapi/v1/order", ref)
            assert (hidden.status_code, hidden.json()) == (
                400,
                {"code": -2013, "msg": "Order does not exist."},
            )
            hidden_open = await client.signed("GET", "/fapi/v1/openOrder", ref)
            assert hidden_open.json()["code"] == -2013
            assert "young" in ledger_orders(sim)
            await trio.sleep(2.0)
            seen = await client.signed("GET", "/fapi/v1/order", ref)
            assert (seen.status_code, seen.json()["clientOrderId"]) == (200, "young")
            assert kinds(sim) == [FaultKind.QUERY_LAG, FaultKind.QUERY_LAG]
            assert {f.client_order_id for f in sim.injected_faults()} == {"young"}

    async def test_a_scripted_step_hides_one_query(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        plan = FaultPlan.scripted(step(FaultKind.QUERY_LAG, method="GET"))
        async with faulty(plan) as (_sim, client):
            await client.order(**limit_buy("q"))
            ref = [("symbol", "BTCUSDT"), ("origClientOrderId", "q")]
            first = await client.signed("GET", "/fapi/v1/order", ref)
            second = await client.signed("GET", "/fapi/v1/order", ref)
            assert (first.status_code, second.status_code) == (400, 200)


class TestFillRacingACancel:
    """Row 32: the order fills at the moment its cancel arrives."""

    async def test_cancel_gets_unknown_order_and_the_order_is_filled(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        plan = FaultPlan.scripted(step(FaultKind.CANCEL_RACE, method="DELETE"))
        async with faulty(plan) as (sim, client):
            await client.order(**limit_buy("raced"))
            ticker = [("symbol", "BTCUSDT")]
            book_before = (await client.public("GET", "/fapi/v1/ticker/bookTicker", ticker)).json()
            canceled = await client.signed(
                "DELETE", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "raced")]
            )
            assert (canceled.status_code, canceled.json()) == (
                400,
                {"code": -2011, "msg": "Unknown order sent."},
            )
            row = ledger_orders(sim)["raced"]
            assert (row["status"], row["executedQty"], row["avgPrice"]) == (
                "FILLED",
                "0.010",
                "59000.00",
            )
            book_after = (await client.public("GET", "/fapi/v1/ticker/bookTicker", ticker)).json()
            assert (book_after["bidPrice"], book_after["askPrice"]) == (
                book_before["bidPrice"],
                book_before["askPrice"],
            )
            (fault,) = sim.injected_faults()
            assert (fault.kind, fault.client_order_id) == (FaultKind.CANCEL_RACE, "raced")

    async def test_by_order_id_too(self, autojump_clock: trio.testing.MockClock) -> None:
        plan = FaultPlan.scripted(step(FaultKind.CANCEL_RACE, method="DELETE"))
        async with faulty(plan) as (sim, client):
            order_id = (await client.order(**limit_buy("by-id"))).json()["orderId"]
            canceled = await client.signed(
                "DELETE", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("orderId", str(order_id))]
            )
            assert canceled.json()["code"] == -2011
            assert ledger_orders(sim)["by-id"]["status"] == "FILLED"
            assert sim.injected_faults()[0].client_order_id == "by-id"

    async def test_nothing_to_race_when_the_order_is_already_done(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        plan = FaultPlan.scripted(step(FaultKind.CANCEL_RACE, method="DELETE", nth=2))
        async with faulty(plan) as (sim, client):
            await client.order(**limit_buy("done"))
            ref = [("symbol", "BTCUSDT"), ("origClientOrderId", "done")]
            first = await client.signed("DELETE", "/fapi/v1/order", ref)
            assert first.json()["status"] == "CANCELED"
            second = await client.signed("DELETE", "/fapi/v1/order", ref)
            assert second.json()["code"] == -2011
            assert ledger_orders(sim)["done"]["status"] == "CANCELED"
            assert sim.injected_faults() == ()


class TestScriptedMatching:
    """Steps pick requests by method, path, symbol and count."""

    async def test_nth_and_times_pick_a_window_of_matching_requests(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        plan = FaultPlan.scripted(step(FaultKind.UNKNOWN_503, nth=2, times=2))
        async with faulty(plan) as (_sim, client):
            statuses = [(await client.order(**limit_buy(f"w{i}"))).status_code for i in range(5)]
            assert statuses == [200, 503, 503, 200, 200]

    async def test_other_routes_and_symbols_do_not_count(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        plan = FaultPlan.scripted(step(FaultKind.UNKNOWN_503, nth=2, symbol="ETHUSDT"))
        async with faulty(plan) as (sim, client):
            answers = []
            for i, symbol in enumerate(["ETHUSDT", "BTCUSDT", "BTCUSDT", "ETHUSDT", "ETHUSDT"]):
                await client.public("GET", "/fapi/v1/time")
                response = await client.order(**limit_buy(f"s{i}", symbol=symbol))
                answers.append((symbol, response.status_code))
            assert answers == [
                ("ETHUSDT", 200),
                ("BTCUSDT", 200),
                ("BTCUSDT", 200),
                ("ETHUSDT", 503),
                ("ETHUSDT", 200),
            ]
            (fault,) = sim.injected_faults()
            assert (fault.symbol, fault.client_order_id) == ("ETHUSDT", "s3")

    async def test_the_first_step_wins_and_every_step_counts(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        plan = FaultPlan.scripted(
            step(FaultKind.UNKNOWN_503, nth=1),
            step(FaultKind.CORRUPT, nth=1, times=2),
        )
        async with faulty(plan) as (sim, client):
            for i in range(3):
                await client.order(**limit_buy(f"f{i}"))
            assert kinds(sim) == [FaultKind.UNKNOWN_503, FaultKind.CORRUPT]

    def test_skew_is_not_a_step(self) -> None:
        with pytest.raises(ValueError, match="skew_ms"):
            FaultStep(fault=FaultKind.SKEW)

    def test_counts_start_at_one(self) -> None:
        with pytest.raises(ValueError, match="nth"):
            FaultStep(fault=FaultKind.DROP, nth=0)


async def fault_schedule(plan: FaultPlan, requests: int) -> list[tuple[int, FaultKind]]:
    """Which of ``requests`` new orders got which fault under ``plan``."""
    async with faulty(plan) as (sim, client):
        for i in range(requests):
            with suppress(httpx.TransportError):  # dropped or lost: the schedule says which
                await client.order(**limit_buy(f"r{i}"))
        return [(int(str(f.client_order_id)[1:]), f.kind) for f in sim.injected_faults()]


SEEDED = FaultPlan(seed=7, p_drop=0.1, p_lost=0.1, p_503_unknown=0.1, p_delay=0.1, delay_s=0.5)


class TestSeededProbabilities:
    """Random faults replay exactly for a seed, and touch only the routes they name."""

    async def test_the_same_seed_gives_the_same_faults(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        first = await fault_schedule(SEEDED, 60)
        again = await fault_schedule(SEEDED, 60)
        assert first == again
        assert {kind for _, kind in first} == {
            FaultKind.DROP,
            FaultKind.LOST,
            FaultKind.UNKNOWN_503,
            FaultKind.DELAY,
        }

    async def test_another_seed_gives_other_faults(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        first = await fault_schedule(SEEDED, 60)
        other = await fault_schedule(attrs.evolve(SEEDED, seed=8), 60)
        assert first != other

    async def test_rates_follow_the_probabilities(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        schedule = await fault_schedule(FaultPlan(seed=3, p_503_unknown=0.25), 400)
        assert 60 <= len(schedule) <= 140

    async def test_reads_are_left_alone_by_default(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with faulty(FaultPlan(seed=1, p_503_unknown=1.0)) as (sim, client):
            balance = await client.signed("GET", "/fapi/v2/balance")
            assert balance.status_code == 200
            refused = await client.order(**limit_buy("always"))
            assert refused.status_code == 503
            assert kinds(sim) == [FaultKind.UNKNOWN_503]

    async def test_signed_routes_include_reads(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        plan = FaultPlan(seed=1, p_503_unknown=1.0, routes=SIGNED_ROUTES)
        async with faulty(plan) as (_sim, client):
            balance = await client.signed("GET", "/fapi/v2/balance")
            assert balance.status_code == 503
            public = await client.public("GET", "/fapi/v1/time")
            assert public.status_code == 200

    async def test_cancel_race_share_only_hits_cancels(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with faulty(FaultPlan(seed=1, p_cancel_race=1.0)) as (sim, client):
            assert (await client.order(**limit_buy("c"))).status_code == 200
            canceled = await client.signed(
                "DELETE", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "c")]
            )
            assert canceled.json()["code"] == -2011
            assert kinds(sim) == [FaultKind.CANCEL_RACE]

    def test_probabilities_may_not_sum_past_one(self) -> None:
        with pytest.raises(ValueError, match="sum"):
            FaultPlan(p_drop=0.6, p_lost=0.6)

    def test_a_probability_is_between_zero_and_one(self) -> None:
        with pytest.raises(ValueError, match="p_delay"):
            FaultPlan(p_delay=1.5)


class TestHealAndStats:
    """Faults stop when the plan is removed; every injected fault is counted and recorded."""

    async def test_heal_stops_faults_and_keeps_the_record(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with faulty(FaultPlan(seed=1, p_drop=1.0)) as (sim, client):
            with pytest.raises(httpx.ConnectError):
                await client.order(**limit_buy("before"))
            sim.set_faults(None)
            assert sim.faults is None
            healed = await client.order(**limit_buy("after"))
            assert healed.status_code == 200
            assert list(ledger_orders(sim)) == ["after"]
            assert kinds(sim) == [FaultKind.DROP]

    async def test_a_new_plan_counts_from_the_start(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        plan = FaultPlan.scripted(step(FaultKind.UNKNOWN_503, nth=1))
        async with faulty(plan) as (sim, client):
            assert (await client.order(**limit_buy("a"))).status_code == 503
            assert (await client.order(**limit_buy("b"))).status_code == 200
            sim.set_faults(plan)
            assert (await client.order(**limit_buy("c"))).status_code == 503

    async def test_stats_count_by_kind_on_both_surfaces(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        plan = FaultPlan.scripted(
            step(FaultKind.UNKNOWN_503, nth=1, times=2), step(FaultKind.LOST, nth=3)
        )
        async with faulty(plan) as (sim, client):
            for i in range(4):
                with suppress(httpx.RemoteProtocolError):
                    await client.order(**limit_buy(f"k{i}"))
            stats = sim.stats()
            assert stats["faults_injected"] == 3
            assert stats["faults_by_kind"] == {"503unknown": 2, "lost": 1}
            served = (await client.public("GET", "/sim/stats")).json()
            assert served["faults_injected"] == 3
            assert served["faults_by_kind"] == {"503unknown": 2, "lost": 1}
            assert served["orders_accepted"] == 4

    async def test_records_say_where_and_when(self, autojump_clock: trio.testing.MockClock) -> None:
        plan = FaultPlan.scripted(step(FaultKind.CORRUPT, nth=2))
        async with faulty(plan) as (sim, client):
            await client.order(**limit_buy("first"))
            await trio.sleep(3)
            at_ms = sim.now_ms()
            await client.order(**limit_buy("second"))
            assert sim.injected_faults() == (
                InjectedFault(
                    kind=FaultKind.CORRUPT,
                    method="POST",
                    path="/fapi/v1/order",
                    symbol="BTCUSDT",
                    client_order_id="second",
                    time_s=3.0,
                    server_time_ms=at_ms,
                ),
            )

    async def test_an_exchange_chosen_client_id_is_recorded(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with faulty(FaultPlan.scripted(step(FaultKind.LOST))) as (sim, client):
            params = limit_buy("unused")
            del params["newClientOrderId"]
            with pytest.raises(httpx.RemoteProtocolError):
                await client.order(**params)
            (only,) = ledger_orders(sim)
            assert sim.injected_faults()[0].client_order_id == only
