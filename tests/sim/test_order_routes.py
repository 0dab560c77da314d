"""Order routes over the transport: lifecycle, lookups, batches, dead-man switch."""

from __future__ import annotations

import json
from decimal import Decimal

import trio
import trio.testing

from trio_fapi.protocol.enums import OrderStatus
from trio_fapi.protocol.wire import VenueOrder

from .conftest import SimClient

BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.010",
    "price": "59990.00",
}


def _code(body: object) -> int:
    assert isinstance(body, dict)
    code = body["code"]
    assert isinstance(code, int)
    return code


class TestLifecycle:
    """Place, query, modify, cancel, each answer an order object."""

    async def test_place_query_cancel(self, client: SimClient) -> None:
        r = await client.order(**BUY, newClientOrderId="c-1")
        assert r.status_code == 200
        placed = VenueOrder.from_wire(r.json())
        assert placed.status is OrderStatus.NEW
        assert placed.client_order_id == "c-1"
        by_id = await client.signed(
            "GET", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("orderId", str(placed.order_id))]
        )
        by_client = await client.signed(
            "GET", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "c-1")]
        )
        assert by_id.json() == by_client.json()
        r = await client.signed(
            "DELETE", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "c-1")]
        )
        assert r.json()["status"] == "CANCELED"
        r = await client.signed(
            "DELETE", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "c-1")]
        )
        assert (r.status_code, _code(r.json())) == (400, -2011)

    async def test_test_order_checks_without_storing(self, client: SimClient) -> None:
        r = await client.signed("POST", "/fapi/v1/order/test", list(BUY.items()))
        assert (r.status_code, r.json()) == (200, {})
        r = await client.signed(
            "POST", "/fapi/v1/order/test", [*BUY.items(), ("reduceOnly", "true")]
        )
        assert _code(r.json()) == -2022
        assert client.sim.ledger()["orders"] == []

    async def test_unknown_order(self, client: SimClient) -> None:
        r = await client.signed("GET", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("orderId", "7")])
        assert _code(r.json()) == -2013
        r = await client.signed(
            "DELETE", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("orderId", "7")]
        )
        assert _code(r.json()) == -2011
        r = await client.signed("GET", "/fapi/v1/order", [("symbol", "BTCUSDT")])
        assert _code(r.json()) == -1102

    async def test_ack_shows_the_order_as_accepted(self, client: SimClient) -> None:
        market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.010"}
        ack = await client.order(**market, newOrderRespType="ACK")
        assert ack.json()["status"] == "NEW"
        result = await client.order(**market)
        assert result.json()["status"] == "FILLED"
        assert result.json()["avgPrice"] == "60000.10"
        query = await client.signed(
            "GET",
            "/fapi/v1/order",
            [("symbol", "BTCUSDT"), ("orderId", str(ack.json()["orderId"]))],
        )
        assert query.json()["status"] == "FILLED"

    async def test_duplicate_client_id_while_open(self, client: SimClient) -> None:
        assert (await client.order(**BUY, newClientOrderId="dup")).status_code == 200
        r = await client.order(**BUY, newClientOrderId="dup")
        assert _code(r.json()) == -4116
        await client.signed("DELETE", "/fapi/v1/allOpenOrders", [("symbol", "BTCUSDT")])
        assert (await client.order(**BUY, newClientOrderId="dup")).status_code == 200

    async def test_margin_insufficient(self, client: SimClient) -> None:
        r = await client.signed(
            "POST", "/fapi/v1/leverage", [("symbol", "BTCUSDT"), ("leverage", "1")]
        )
        assert r.status_code == 200
        r = await client.order(**{**BUY, "quantity": "2.000"})
        assert _code(r.json()) == -2019

    async def test_modify(self, client: SimClient) -> None:
        placed = (await client.order(**BUY)).json()
        oid = str(placed["orderId"])
        r = await client.signed(
            "PUT",
            "/fapi/v1/order",
            [
                ("symbol", "BTCUSDT"),
                ("orderId", oid),
                ("side", "BUY"),
                ("quantity", "0.020"),
                ("price", "59980.00"),
            ],
        )
        assert r.status_code == 200, r.text
        assert (r.json()["origQty"], r.json()["price"]) == ("0.020", "59980.00")
        r = await client.signed(
            "PUT",
            "/fapi/v1/order",
            [
                ("symbol", "BTCUSDT"),
                ("orderId", oid),
                ("side", "BUY"),
                ("quantity", "0.020"),
                ("price", "59980.00"),
            ],
        )
        assert _code(r.json()) == -5027
        # Re-priced through the book: it takes at once.
        r = await client.signed(
            "PUT",
            "/fapi/v1/order",
            [
                ("symbol", "BTCUSDT"),
                ("orderId", oid),
                ("side", "BUY"),
                ("quantity", "0.020"),
                ("price", "60000.10"),
            ],
        )
        assert r.json()["status"] == "FILLED"
        kinds = [u.o["x"] for u in client.sim.exchange.ledger.order_updates]
        assert kinds == ["NEW", "AMENDMENT", "AMENDMENT", "TRADE"]


class TestLists:
    """openOrder, openOrders, allOrders and userTrades."""

    async def test_open_order_and_lists(self, client: SimClient) -> None:
        first = (await client.order(**BUY)).json()
        await client.order(**{**BUY, "symbol": "ETHUSDT", "price": "2990.00"})
        await client.order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.010")
        r = await client.signed(
            "GET", "/fapi/v1/openOrder", [("symbol", "BTCUSDT"), ("orderId", str(first["orderId"]))]
        )
        assert r.json()["orderId"] == first["orderId"]
        all_open = (await client.signed("GET", "/fapi/v1/openOrders")).json()
        assert {o["symbol"] for o in all_open} == {"BTCUSDT", "ETHUSDT"}
        btc_open = (
            await client.signed("GET", "/fapi/v1/openOrders", [("symbol", "BTCUSDT")])
        ).json()
        assert [o["orderId"] for o in btc_open] == [first["orderId"]]
        every = (await client.signed("GET", "/fapi/v1/allOrders", [("symbol", "BTCUSDT")])).json()
        assert [o["status"] for o in every] == ["NEW", "FILLED"]
        trades = (await client.signed("GET", "/fapi/v1/userTrades", [("symbol", "BTCUSDT")])).json()
        assert len(trades) == 1
        assert trades[0]["side"] == "SELL"
        assert trades[0]["price"] == "60000.00"
        assert trades[0]["commission"] == "0.30000000"
        await client.signed(
            "DELETE", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("orderId", str(first["orderId"]))]
        )
        r = await client.signed(
            "GET", "/fapi/v1/openOrder", [("symbol", "BTCUSDT"), ("orderId", str(first["orderId"]))]
        )
        assert _code(r.json()) == -2013


class TestBatches:
    """Per-item results in request order, errors inline."""

    async def test_batch_place(self, client: SimClient) -> None:
        items = [
            BUY,
            {**BUY, "type": "STOP_MARKET"},
            {**BUY, "symbol": "NOPEUSDT"},
            {**BUY, "price": "59980.00", "reduceOnly": "true"},
            {**BUY, "price": "59970.00", "quantity": 0.01},
        ]
        r = await client.signed(
            "POST", "/fapi/v1/batchOrders", [("batchOrders", json.dumps(items))]
        )
        assert r.status_code == 200
        body = r.json()
        assert [row.get("code", row.get("status")) for row in body] == [
            "NEW",
            -4120,
            -1121,
            -2022,
            "NEW",
        ]
        assert r.headers["X-MBX-ORDER-COUNT-1M"] == "5"
        stats = client.sim.stats()
        assert stats["errors_by_code"] == {"-4120": 1, "-2022": 1, "-1121": 1}

    async def test_batch_too_big(self, client: SimClient) -> None:
        r = await client.signed(
            "POST", "/fapi/v1/batchOrders", [("batchOrders", json.dumps([BUY] * 6))]
        )
        assert r.json()["code"] == -4082

    async def test_batch_cancel(self, client: SimClient) -> None:
        a = (await client.order(**BUY)).json()
        r = await client.signed(
            "DELETE",
            "/fapi/v1/batchOrders",
            [
                ("symbol", "BTCUSDT"),
                ("orderIdList", json.dumps([a["orderId"], 42]).replace(" ", "")),
            ],
        )
        first, second = r.json()
        assert first["status"] == "CANCELED"
        assert second == {"code": -2011, "msg": "Unknown order sent."}


class TestCountdown:
    """countdownCancelAll cancels when it runs out; 0 disarms it."""

    async def test_fires_after_the_countdown(
        self, client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        await client.order(**BUY)
        r = await client.signed(
            "POST",
            "/fapi/v1/countdownCancelAll",
            [("symbol", "BTCUSDT"), ("countdownTime", "2000")],
        )
        assert r.json() == {"symbol": "BTCUSDT", "countdownTime": "2000"}
        await trio.sleep(1.5)
        assert client.sim.exchange.ledger.all_open_orders("BTCUSDT")
        await trio.sleep(1.0)
        orders = client.sim.ledger()["orders"]
        assert isinstance(orders, list)
        assert [o["status"] for o in orders] == ["CANCELED"]

    async def test_heartbeat_and_disarm(
        self, client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        await client.order(**BUY)
        for _ in range(3):
            await client.signed(
                "POST",
                "/fapi/v1/countdownCancelAll",
                [("symbol", "BTCUSDT"), ("countdownTime", "2000")],
            )
            await trio.sleep(1.5)
        await client.signed(
            "POST", "/fapi/v1/countdownCancelAll", [("symbol", "BTCUSDT"), ("countdownTime", "0")]
        )
        await trio.sleep(10)
        assert len(client.sim.exchange.ledger.all_open_orders("BTCUSDT")) == 1
        assert client.sim.exchange.ledger.account.wallet == Decimal(100000)
