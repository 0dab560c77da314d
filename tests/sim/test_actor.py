"""The sim as an actor: apart from its clients, ticking on trio's clock."""

from __future__ import annotations

from decimal import Decimal

import attrs
import httpx
import pytest
import trio
import trio.testing

from trio_fapi.sim import SIM_BASE_URL, SimRequest, default_config, open_sim

from .conftest import SimClient, still_config

BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.010",
    "price": "59990.00",
    "newClientOrderId": "gave-up",
}


def _orders(ledger: dict[str, object]) -> list[dict[str, object]]:
    orders = ledger["orders"]
    assert isinstance(orders, list)
    return orders


class TestCancelledClient:
    """A client that gives up does not undo what the exchange did."""

    async def test_order_lands_although_the_client_gave_up(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        cfg = attrs.evolve(still_config(), response_latency_s=1.0)
        async with (
            open_sim(cfg) as sim,
            httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
        ):
            client = SimClient(http, sim)
            with trio.move_on_after(0.5) as scope:
                await client.order(**BUY)
            assert scope.cancelled_caught
            (order,) = _orders(sim.ledger())
            assert (order["clientOrderId"], order["status"]) == ("gave-up", "NEW")
            await trio.sleep(1.0)  # the late answer goes to nobody, and nothing breaks
            r = await client.signed(
                "GET", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "gave-up")]
            )
            assert r.json()["status"] == "NEW"
            assert sim.stats()["orders_accepted"] == 1

    async def test_requests_after_shutdown_fail_to_connect(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_sim(still_config()) as sim:
            transport = sim.transport
        async with httpx.AsyncClient(transport=transport, base_url=SIM_BASE_URL) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get("/fapi/v1/time")

    async def test_latency_delays_the_answer(self, autojump_clock: trio.testing.MockClock) -> None:
        cfg = attrs.evolve(still_config(), response_latency_s=0.25)
        async with open_sim(cfg) as sim:
            start = trio.current_time()
            response = await sim.request(SimRequest(method="GET", path="/fapi/v1/ping"))
            assert response.status == 200
            assert trio.current_time() - start == pytest.approx(0.25)


class TestTicker:
    """The market moves every tick_s of trio time, deterministically per seed."""

    async def test_prices_move_in_virtual_time(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_sim(default_config(seed=11)) as sim:
            market = sim.exchange.market
            before = market.symbols["BTCUSDT"].price
            await trio.sleep(30.05)
            assert market.symbols["BTCUSDT"].steps == 300
            assert market.symbols["BTCUSDT"].price != before

    async def test_same_seed_same_prices(self, autojump_clock: trio.testing.MockClock) -> None:
        prices = []
        for _ in range(2):
            async with open_sim(default_config(seed=4)) as sim:
                await trio.sleep(5.05)
                prices.append(sim.exchange.market.symbols["ETHUSDT"].price)
        assert prices[0] == prices[1]

    async def test_resting_order_fills_as_the_path_moves(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with (
            open_sim(default_config(seed=2)) as sim,
            httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
        ):
            client = SimClient(http, sim)
            price = sim.exchange.market.symbols["BTCUSDT"].price
            near = str(price - Decimal("5.00"))
            await client.order(**{**BUY, "price": near, "newClientOrderId": "near"})
            await trio.sleep(600)  # seed 2's path dips 5 USDT within ten minutes
            (order,) = _orders(sim.ledger())
            assert order["status"] == "FILLED"
            assert sim.exchange.ledger.executions[0].maker

    async def test_server_clock_offset(self, autojump_clock: trio.testing.MockClock) -> None:
        async with open_sim(attrs.evolve(still_config(), server_time_offset_ms=-3000)) as sim:
            response = await sim.request(SimRequest(method="GET", path="/fapi/v1/time"))
            body = response.json()
            assert isinstance(body, dict)
            assert body["serverTime"] == sim.now_ms()


class TestIntrospection:
    """/sim/stats and /sim/ledger need no auth and are not counted."""

    async def test_shapes(self, client: SimClient) -> None:
        await client.order(**BUY)
        await client.order(**{**BUY, "newClientOrderId": "x", "quantity": "0"})
        await client.signed("DELETE", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("orderId", "3")])
        stats = (await client.http.get("/sim/stats")).json()
        assert stats == client.sim.stats()
        assert stats["requests_by_path"] == {"/fapi/v1/order": 3}
        assert stats["orders_accepted"] == 1
        assert stats["responses_by_status"] == {"200": 1, "400": 2}
        assert stats["errors_by_code"] == {"-4003": 1, "-2011": 1}
        ledger = (await client.http.get("/sim/ledger")).json()
        assert ledger == client.sim.ledger()
        (order,) = ledger["orders"]
        for key in ("clientOrderId", "orderId", "symbol", "status", "executedQty", "avgPrice"):
            assert key in order
        assert (order["executedQty"], order["avgPrice"]) == ("0.000", "0.00")
        assert (await client.http.post("/sim/stats")).status_code == 404
