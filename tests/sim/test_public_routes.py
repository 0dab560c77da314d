"""Market-data routes parse with the protocol's wire records; no number has an exponent."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from trio_fapi.protocol.filters import ExchangeInfo
from trio_fapi.protocol.ids import Symbol
from trio_fapi.protocol.wire import BookTicker, Kline, OrderBook, PriceTicker

from .conftest import SimClient

_FIXED = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_NUMBERISH = re.compile(r"[-+0-9.eE]*[0-9][-+0-9.eE]*")


def _numbers(body: object) -> list[str]:
    """Strings that look like numbers in any notation (ids like ``51Dj...`` do not)."""
    return [s for s in _strings(body) if _NUMBERISH.fullmatch(s)]


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


class TestMarketData:
    """Each public route answers Binance's shape."""

    async def test_ping_and_time(self, client: SimClient) -> None:
        assert (await client.public("GET", "/fapi/v1/ping")).json() == {}
        server_time = (await client.public("GET", "/fapi/v1/time")).json()["serverTime"]
        assert abs(server_time - client.sim.now_ms()) < 1000

    async def test_exchange_info_round_trips(self, client: SimClient) -> None:
        body = (await client.public("GET", "/fapi/v1/exchangeInfo")).json()
        info = ExchangeInfo.from_wire(body)
        assert info.rules(Symbol("BTCUSDT")) == client.sim.config.symbols[0].rules
        assert info.rate_limits == client.sim.config.rate_limits

    async def test_depth(self, client: SimClient) -> None:
        r = await client.public("GET", "/fapi/v1/depth", [("symbol", "BTCUSDT"), ("limit", "5")])
        book = OrderBook.from_wire(r.json())
        assert len(book.bids) == len(book.asks) == 5
        assert book.bids[0].price == Decimal("60000.00")
        assert book.asks[0].price == Decimal("60000.10")
        r = await client.public("GET", "/fapi/v1/depth", [("symbol", "BTCUSDT"), ("limit", "7")])
        assert r.json()["code"] == -4021

    async def test_tickers(self, client: SimClient) -> None:
        for path in ("/fapi/v1/ticker/price", "/fapi/v2/ticker/price"):
            one = PriceTicker.from_wire(
                (await client.public("GET", path, [("symbol", "ETHUSDT")])).json()
            )
            assert one.price == Decimal("3000.00")
            every = (await client.public("GET", path)).json()
            assert [row["symbol"] for row in every] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
        r = await client.public("GET", "/fapi/v1/ticker/bookTicker", [("symbol", "BTCUSDT")])
        book = BookTicker.from_wire(r.json())
        assert (book.bid_price, book.ask_price) == (Decimal("60000.00"), Decimal("60000.10"))
        r = await client.public("GET", "/fapi/v1/ticker/24hr", [("symbol", "SOLUSDT")])
        assert r.json()["lastPrice"] == "150.0000"
        r = await client.public("GET", "/fapi/v1/premiumIndex", [("symbol", "BTCUSDT")])
        assert r.json()["markPrice"] == "60000.00"

    async def test_klines(self, client: SimClient) -> None:
        r = await client.public(
            "GET", "/fapi/v1/klines", [("symbol", "BTCUSDT"), ("interval", "5m"), ("limit", "4")]
        )
        rows = [Kline.from_wire(row) for row in r.json()]
        assert len(rows) == 4
        assert all(row.close_time - row.open_time == 5 * 60_000 - 1 for row in rows)
        r = await client.public(
            "GET", "/fapi/v1/klines", [("symbol", "BTCUSDT"), ("interval", "7m")]
        )
        assert r.json()["code"] == -1120

    async def test_unknown_symbol_and_route(self, client: SimClient) -> None:
        r = await client.public("GET", "/fapi/v1/depth", [("symbol", "btcusdt")])
        assert r.json()["code"] == -1121
        r = await client.public("GET", "/fapi/v9/nothing")
        assert r.status_code == 404


class TestFixedPoint:
    """Every numeric string is fixed-point, never ``1E-7``."""

    @pytest.mark.parametrize(
        "path",
        [
            "/fapi/v1/exchangeInfo",
            "/fapi/v1/ticker/24hr",
            "/fapi/v2/ticker/price",
            "/fapi/v1/premiumIndex",
        ],
    )
    async def test_public(self, client: SimClient, path: str) -> None:
        body = (await client.public("GET", path)).json()
        numeric = _numbers(body)
        assert numeric
        assert [s for s in numeric if not _FIXED.fullmatch(s)] == []

    async def test_after_trading(self, client: SimClient) -> None:
        await client.order(symbol="SOLUSDT", side="BUY", type="MARKET", quantity="1")
        await client.order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.002")
        bodies = [
            (await client.signed("GET", "/fapi/v3/account")).json(),
            (await client.signed("GET", "/fapi/v2/positionRisk")).json(),
            (await client.signed("GET", "/fapi/v1/userTrades", [("symbol", "SOLUSDT")])).json(),
            (await client.signed("GET", "/fapi/v1/allOrders")).json(),
            client.sim.ledger(),
        ]
        numeric = [s for b in bodies for s in _numbers(b)]
        assert len(numeric) > 50
        assert [s for s in numeric if not _FIXED.fullmatch(s)] == []
