"""MarketData and OrderBook: exact arithmetic, validated input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trio_fapi.paper import InvalidMarketData, MarketData, OrderBook, OrderBookLevel, PaperBroker
from trio_fapi.protocol.errors import InvalidNumber, UnknownSymbol

D = Decimal


class TestMarketData:
    """Mid, spread and spread percentage are exact; floats and crossed quotes are refused."""

    def test_derived_prices(self) -> None:
        data = MarketData(symbol="BTCUSDT", bid="60000.0", ask="60000.2", last=60000, volume=3)
        assert data.mid_price == D("60000.1")
        assert data.spread == D("0.2")
        assert data.spread_pct == D("0.2") / D("60000.1") * 100

    @pytest.mark.parametrize(
        "fields",
        [
            {"bid": 1.5, "ask": "2", "last": "2"},
            {"bid": "1", "ask": "2", "last": "0"},
            {"bid": "1", "ask": "2", "last": "2", "volume": "-1"},
            {"bid": "1", "ask": "2", "last": "2", "bid_qty": "1e3"},
        ],
        ids=["float", "zero-price", "negative-volume", "exponent"],
    )
    def test_refused_numbers(self, fields: dict[str, object]) -> None:
        with pytest.raises(InvalidNumber):
            MarketData(symbol="BTCUSDT", **fields)  # type: ignore[arg-type]

    @pytest.mark.parametrize("ask", ["1.0", "0.9"], ids=["locked", "crossed"])
    def test_crossed_quotes(self, ask: str) -> None:
        with pytest.raises(InvalidMarketData):
            MarketData(symbol="BTCUSDT", bid="1.0", ask=ask, last="1")


class TestOrderBook:
    """Levels are sorted best first; empty sides answer None."""

    def test_best_and_mid(self) -> None:
        book = OrderBook(
            symbol="X",
            bids=[
                OrderBookLevel(price="9", quantity="1"),
                OrderBookLevel(price="10", quantity="2"),
            ],
            asks=[
                OrderBookLevel(price="12", quantity="1"),
                OrderBookLevel(price="11", quantity="3"),
            ],
        )
        assert book.get_best_bid() == OrderBookLevel(price="10", quantity="2")
        assert book.get_best_ask() == OrderBookLevel(price="11", quantity="3")
        assert book.get_mid_price() == D("10.5")

    def test_empty_side(self) -> None:
        book = OrderBook(symbol="X", bids=[OrderBookLevel(price="9", quantity="1")])
        assert book.get_best_ask() is None
        assert book.get_mid_price() is None


class TestBrokerMarketData:
    """What the broker reports is the book it matches against."""

    def test_quote_round_trip(self, broker: PaperBroker) -> None:
        broker.update_market_data(
            "BTCUSDT", "61000.0", "61000.2", "61000.1", "12.5", bid_qty="0.7", ask_qty="1.1"
        )
        data = broker.get_market_data("BTCUSDT")
        assert (data.bid, data.ask, data.last, data.volume) == (
            D("61000.0"),
            D("61000.2"),
            D("61000.1"),
            D("12.5"),
        )
        assert (data.bid_qty, data.ask_qty) == (D("0.7"), D("1.1"))
        book = broker.get_order_book("BTCUSDT", depth=3)
        assert [lv.price for lv in book.bids] == [D("61000.0"), D("60999.9"), D("60999.8")]
        assert [lv.quantity for lv in book.asks] == [D("1.1"), D("2.000"), D("2.000")]

    def test_off_grid_quotes_snap_outwards(self, broker: PaperBroker) -> None:
        broker.update_market_data("BTCUSDT", "60000.05", "60000.15", "60000.06", "0")
        data = broker.get_market_data("BTCUSDT")
        assert (data.bid, data.ask, data.last) == (D("60000.0"), D("60000.2"), D("60000.1"))

    def test_a_pushed_book(self, broker: PaperBroker) -> None:
        broker.update_order_book(
            "BTCUSDT", bids=[("59999.0", "0.5"), ("59998.0", "1")], asks=[("60001.0", "0.25")]
        )
        book = broker.get_order_book("BTCUSDT")
        assert book.get_best_ask() == OrderBookLevel(price="60001.0", quantity="0.25")
        assert len(book.bids) == 2
        with pytest.raises(InvalidMarketData):
            broker.update_order_book("BTCUSDT", bids=[("60002.0", "1")], asks=[("60001.0", "1")])

    def test_a_last_price_alone_recentres_the_book(self, broker: PaperBroker) -> None:
        broker.update_price("BTCUSDT", "59000.0", "4")
        data = broker.get_market_data("BTCUSDT")
        assert (data.bid, data.ask, data.last, data.volume) == (
            D("59000.0"),
            D("59000.1"),
            D("59000.0"),
            D(4),
        )

    def test_unknown_symbol(self, broker: PaperBroker) -> None:
        with pytest.raises(UnknownSymbol):
            broker.update_market_data("DOGEUSDT", "1", "2", "1", "0")
