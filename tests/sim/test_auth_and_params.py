"""Keys, signatures, timestamps and parameter shapes, through the httpx transport."""

from __future__ import annotations

import httpx
import pytest
import trio.testing

from trio_fapi.actors._signing import encode_params, sign_payload
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.sim import SimRequest

from .conftest import SimClient

CREDS = Credentials(api_key="sim-key", api_secret="sim-secret")
LIMIT_BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.010",
    "price": "59990.00",
}


def _code(response: httpx.Response) -> int:
    body = response.json()
    assert isinstance(body, dict)
    code = body["code"]
    assert isinstance(code, int)
    return code


class TestKeyAndSignature:
    """The key header, then the timestamp window, then the HMAC."""

    async def test_missing_key_is_401(self, client: SimClient) -> None:
        r = await client.signed("GET", "/fapi/v1/openOrders", key=None)
        assert r.status_code == 401
        assert _code(r) == -2015

    async def test_wrong_key_is_401(self, client: SimClient) -> None:
        r = await client.signed("GET", "/fapi/v1/openOrders", key="someone-else")
        assert (r.status_code, _code(r)) == (401, -2015)

    async def test_wrong_secret_is_1022(self, client: SimClient) -> None:
        r = await client.signed("GET", "/fapi/v1/openOrders", secret="wrong")
        assert (r.status_code, _code(r)) == (400, -1022)

    async def test_tampered_query_is_1022(self, client: SimClient) -> None:
        query = encode_params([("symbol", "BTCUSDT"), ("timestamp", str(client.sim.now_ms()))])
        signature = sign_payload(CREDS, query)
        tampered = query.replace("BTCUSDT", "ETHUSDT")
        r = await client.http.get(
            f"/fapi/v1/openOrders?{tampered}&signature={signature}",
            headers={"X-MBX-APIKEY": "sim-key"},
        )
        assert _code(r) == -1022

    async def test_missing_signature_is_1102(self, client: SimClient) -> None:
        query = encode_params([("timestamp", str(client.sim.now_ms()))])
        r = await client.http.get(
            f"/fapi/v1/openOrders?{query}", headers={"X-MBX-APIKEY": "sim-key"}
        )
        assert _code(r) == -1102

    async def test_public_routes_need_no_key(self, client: SimClient) -> None:
        r = await client.public("GET", "/fapi/v1/time")
        assert r.status_code == 200

    async def test_params_split_across_query_and_form_body(self, client: SimClient) -> None:
        """ccxt sends POST parameters as a form body; the signature covers query + body."""
        query = encode_params([("symbol", "BTCUSDT"), ("side", "BUY")])
        body = encode_params(
            [
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("quantity", "0.010"),
                ("price", "59990.00"),
                ("timestamp", str(client.sim.now_ms())),
            ]
        )
        signature = sign_payload(CREDS, query + body)
        r = await client.http.post(
            f"/fapi/v1/order?{query}",
            content=f"{body}&signature={signature}",
            headers={
                "X-MBX-APIKEY": "sim-key",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "NEW"

    async def test_query_wins_over_body(self, client: SimClient) -> None:
        query = encode_params([("symbol", "ETHUSDT"), ("timestamp", str(client.sim.now_ms()))])
        body = "symbol=BTCUSDT"
        signature = sign_payload(CREDS, query + body)
        r = await client.http.request(
            "DELETE",
            f"/fapi/v1/allOpenOrders?{query}&signature={signature}",
            content=body,
            headers={
                "X-MBX-APIKEY": "sim-key",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert r.status_code == 200, r.text
        assert client.sim.stats()["requests_by_path"] == {"/fapi/v1/allOpenOrders": 1}


class TestTimestamp:
    """timestamp < server + 1000 and server - timestamp <= recvWindow, else -1021."""

    async def test_stale(self, client: SimClient) -> None:
        r = await client.signed("GET", "/fapi/v1/openOrders", timestamp=client.sim.now_ms() - 6000)
        assert _code(r) == -1021

    async def test_stale_but_inside_a_wider_window(self, client: SimClient) -> None:
        now = client.sim.now_ms()
        r = await client.signed(
            "GET", "/fapi/v1/openOrders", timestamp=now - 6000, recv_window=10000
        )
        assert r.status_code == 200

    async def test_ahead_by_a_second(
        self, client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        # Virtual time: on the real clock a millisecond may pass before the answer.
        r = await client.signed("GET", "/fapi/v1/openOrders", timestamp=client.sim.now_ms() + 1000)
        assert _code(r) == -1021
        assert "ahead" in r.json()["msg"]

    async def test_slightly_ahead_is_fine(self, client: SimClient) -> None:
        r = await client.signed("GET", "/fapi/v1/openOrders", timestamp=client.sim.now_ms() + 999)
        assert r.status_code == 200

    async def test_recv_window_over_the_maximum(self, client: SimClient) -> None:
        r = await client.signed("GET", "/fapi/v1/openOrders", recv_window=60001)
        assert _code(r) == -1130


class TestParameterShapes:
    """Binance's shape errors, checked before any state."""

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"symbol": "DOGEUSDT"}, -1121),
            ({"side": "buy"}, -1117),
            ({"type": "ICEBERG"}, -1116),
            ({"timeInForce": "DAY"}, -1115),
            ({"quantity": "1e-3"}, -1100),
            ({"quantity": "0.01x"}, -1100),
            ({"quantity": "0.0105"}, -1111),
            ({"price": "59990.055"}, -1111),
            ({"quantity": "0"}, -4003),
            ({"quantity": "-0.010"}, -4003),
            ({"price": "-1"}, -4001),
            ({"type": "STOP_MARKET"}, -4120),
            ({"type": "TAKE_PROFIT"}, -4120),
            ({"positionSide": "UP"}, -4060),
            ({"newClientOrderId": "bad id!"}, -4015),
            ({"newOrderRespType": "FULL"}, -1136),
        ],
        ids=lambda v: str(v),
    )
    async def test_order_shape_errors(
        self, client: SimClient, change: dict[str, str], code: int
    ) -> None:
        r = await client.order(**{**LIMIT_BUY, **change})
        assert r.status_code == 400
        assert _code(r) == code
        assert client.sim.exchange.ledger.orders_accepted == 0

    @pytest.mark.parametrize(
        "missing", ["symbol", "side", "type", "quantity", "price", "timeInForce"]
    )
    async def test_mandatory(self, client: SimClient, missing: str) -> None:
        params = {k: v for k, v in LIMIT_BUY.items() if k != missing}
        r = await client.order(**params)
        assert _code(r) == -1102
        assert missing in r.json()["msg"]

    async def test_time_in_force_on_market_is_1106(self, client: SimClient) -> None:
        r = await client.order(
            symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010", timeInForce="GTC"
        )
        assert _code(r) == -1106

    async def test_reduce_only_in_hedge_mode_is_1106(self, client: SimClient) -> None:
        client.sim.exchange.ledger.account.dual_side = True
        r = await client.order(
            symbol="BTCUSDT",
            side="SELL",
            type="MARKET",
            quantity="0.010",
            positionSide="LONG",
            reduceOnly="true",
        )
        assert _code(r) == -1106


class TestFilters:
    """Filter codes come from SymbolRules, so they match the engine's own checks."""

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"price": "59990.033"}, -1111),
            ({"price": "59990.03"}, -4014),
            ({"price": "500.0"}, -4013),
            ({"quantity": "0.0005"}, -1111),
            ({"quantity": "1001"}, -4005),
            ({"quantity": "0.001"}, -4164),  # 60 USDT < 100
            ({"price": "63000.10"}, -4016),  # above mark x 1.05
            ({"side": "SELL", "price": "56999.90"}, -4024),  # below mark x 0.95
        ],
        ids=lambda v: str(v),
    )
    async def test_filter_codes(self, client: SimClient, change: dict[str, str], code: int) -> None:
        r = await client.order(**{**LIMIT_BUY, **change})
        assert _code(r) == code

    async def test_min_qty_and_step_on_sol(self, client: SimClient) -> None:
        base = {**LIMIT_BUY, "symbol": "SOLUSDT", "price": "150.00"}
        r = await client.order(**{**base, "quantity": "0"})
        assert _code(r) == -4003
        r = await client.order(**{**base, "quantity": "1.5"})
        assert _code(r) == -1111

    async def test_market_lot_size_max(self, client: SimClient) -> None:
        r = await client.order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="121")
        assert _code(r) == -4005


def test_a_request_repr_shows_no_key_and_no_signature() -> None:
    request = SimRequest(
        method="POST",
        path="/fapi/v1/order",
        query="symbol=BTCUSDT&timestamp=1&signature=deadbeefcafe",
        body=b"quantity=1&signature=deadbeefcafe",
        headers={"X-MBX-APIKEY": "my-api-key-123"},
    )
    shown = repr(request)
    assert "/fapi/v1/order" in shown
    assert "deadbeefcafe" not in shown
    assert "my-api-key-123" not in shown
