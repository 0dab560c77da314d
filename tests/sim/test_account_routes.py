"""Account routes: the numbers parse with the protocol's own wire records."""

from __future__ import annotations

from decimal import Decimal

from trio_fapi.protocol.wire import AccountInfo, Balance, Position

from .conftest import SimClient


def _code(body: object) -> int:
    assert isinstance(body, dict)
    code = body["code"]
    assert isinstance(code, int)
    return code


async def _long_btc(client: SimClient) -> None:
    r = await client.order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.100")
    assert r.json()["status"] == "FILLED"  # 0.100 @ 60000.10, fee 3.000005
    client.sim.set_price("BTCUSDT", "61000.00")


class TestPositionsAndBalances:
    """positionRisk, balance and account after a buy and a price move."""

    async def test_position_risk_v3(self, client: SimClient) -> None:
        assert (await client.signed("GET", "/fapi/v3/positionRisk")).json() == []
        await _long_btc(client)
        (row,) = (await client.signed("GET", "/fapi/v3/positionRisk")).json()
        pos = Position.from_wire(row)
        assert pos.amount == Decimal("0.100")
        assert pos.entry_price == Decimal("60000.10")
        assert pos.mark_price == Decimal("61000.00")
        assert pos.unrealized_pnl == Decimal("99.99")  # 0.1 * (61000.00 - 60000.10)
        assert row["initialMargin"] == "305.00000000"  # 6100 / 20

    async def test_position_risk_v2_lists_every_symbol(self, client: SimClient) -> None:
        rows = (await client.signed("GET", "/fapi/v2/positionRisk")).json()
        assert [r["symbol"] for r in rows] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
        assert {(r["leverage"], r["marginType"]) for r in rows} == {("20", "cross")}
        one = (await client.signed("GET", "/fapi/v2/positionRisk", [("symbol", "ETHUSDT")])).json()
        assert [r["symbol"] for r in one] == ["ETHUSDT"]

    async def test_balance_and_account(self, client: SimClient) -> None:
        await _long_btc(client)
        for path in ("/fapi/v2/balance", "/fapi/v3/balance"):
            (row,) = (await client.signed("GET", path)).json()
            bal = Balance.from_wire(row)
            assert bal.asset == "USDT"
            assert bal.balance == Decimal("99996.99999500")
            assert bal.cross_unrealized_pnl == Decimal("99.99")
            assert bal.available_balance == Decimal("99996.999995") + Decimal("99.99") - Decimal(
                305
            )
        info = AccountInfo.from_wire((await client.signed("GET", "/fapi/v3/account")).json())
        assert info.total_wallet_balance == Decimal("99996.999995")
        assert info.total_unrealized_profit == Decimal("99.99")
        assert info.total_margin_balance == Decimal("100096.989995")
        assert [p.symbol.value for p in info.positions] == ["BTCUSDT"]
        v2 = (await client.signed("GET", "/fapi/v2/account")).json()
        assert v2["canTrade"] is True
        assert len(v2["positions"]) == 3


class TestSettings:
    """Leverage, margin type and position mode, with Binance's "no change" codes."""

    async def test_leverage(self, client: SimClient) -> None:
        r = await client.signed(
            "POST", "/fapi/v1/leverage", [("symbol", "BTCUSDT"), ("leverage", "10")]
        )
        assert r.json()["leverage"] == 10
        assert r.json()["symbol"] == "BTCUSDT"
        r = await client.signed(
            "POST", "/fapi/v1/leverage", [("symbol", "BTCUSDT"), ("leverage", "126")]
        )
        assert _code(r.json()) == -4028

    async def test_margin_type(self, client: SimClient) -> None:
        params = [("symbol", "BTCUSDT"), ("marginType", "ISOLATED")]
        r = await client.signed("POST", "/fapi/v1/marginType", params)
        assert r.json() == {"code": 200, "msg": "success"}
        r = await client.signed("POST", "/fapi/v1/marginType", params)
        assert _code(r.json()) == -4046
        await _long_btc(client)
        r = await client.signed(
            "POST", "/fapi/v1/marginType", [("symbol", "BTCUSDT"), ("marginType", "CROSSED")]
        )
        assert _code(r.json()) == -4048

    async def test_position_mode(self, client: SimClient) -> None:
        r = await client.signed("GET", "/fapi/v1/positionSide/dual")
        assert r.json() == {"dualSidePosition": False}
        r = await client.signed(
            "POST", "/fapi/v1/positionSide/dual", [("dualSidePosition", "false")]
        )
        assert _code(r.json()) == -4059
        r = await client.signed(
            "POST", "/fapi/v1/positionSide/dual", [("dualSidePosition", "true")]
        )
        assert r.json() == {"code": 200, "msg": "success"}
        r = await client.order(
            symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010", positionSide="LONG"
        )
        assert r.json()["positionSide"] == "LONG"
        r = await client.order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010")
        assert _code(r.json()) == -4061
        r = await client.signed(
            "POST", "/fapi/v1/positionSide/dual", [("dualSidePosition", "false")]
        )
        assert _code(r.json()) == -4068
        rows = (await client.signed("GET", "/fapi/v2/positionRisk", [("symbol", "BTCUSDT")])).json()
        assert [r["positionSide"] for r in rows] == ["LONG", "SHORT"]
        rows = (await client.signed("GET", "/fapi/v3/positionRisk")).json()
        assert [r["positionSide"] for r in rows] == ["LONG"]  # v3 leaves out flat sides


class TestListenKey:
    """One key per account; PUT extends, DELETE drops, unknown keys get -1125."""

    async def test_lifecycle(self, client: SimClient) -> None:
        r = await client.public("POST", "/fapi/v1/listenKey")
        assert r.status_code == 401  # needs the API key, not a signature
        key = (await client.public("POST", "/fapi/v1/listenKey", key="sim-key")).json()["listenKey"]
        assert len(key) == 64
        again = (await client.public("POST", "/fapi/v1/listenKey", key="sim-key")).json()
        assert again["listenKey"] == key
        assert client.sim.exchange.listen_keys.is_valid(key, client.sim.now_ms())
        r = await client.public("PUT", "/fapi/v1/listenKey", [("listenKey", key)], key="sim-key")
        assert r.json() == {"listenKey": key}
        r = await client.public(
            "PUT", "/fapi/v1/listenKey", [("listenKey", "other")], key="sim-key"
        )
        assert _code(r.json()) == -1125
        r = await client.public("DELETE", "/fapi/v1/listenKey", key="sim-key")
        assert r.json() == {}
        r = await client.public("PUT", "/fapi/v1/listenKey", key="sim-key")
        assert _code(r.json()) == -1125
