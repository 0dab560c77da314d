"""Slippage models: the estimate is what the venue then fills at."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trio_fapi.paper import (
    BookWalkSlippageModel,
    LinearSlippageModel,
    MarketData,
    OrderBook,
    OrderBookLevel,
    PaperBroker,
)
from trio_fapi.protocol.enums import OrderSide, OrderStatus
from trio_fapi.protocol.errors import ExchangeRejected, InvalidNumber
from trio_fapi.protocol.orders import OrderRequest

from .conftest import TAKER, new_broker, quote

D = Decimal


class TestBookWalk:
    """The default model walks the depth, and the venue fills exactly as estimated."""

    async def test_estimate_then_fill(self) -> None:
        broker = new_broker("100000")
        quote(broker)
        request = OrderRequest.market("BTCUSDT", "BUY", "5")
        estimate = broker.simulate_slippage(request)
        assert (estimate.filled_qty, estimate.average_price) == (D(5), D("60000.18"))
        assert (estimate.touch_price, estimate.slippage) == (D("60000.1"), D("0.08"))
        order = await broker.place_order("BTCUSDT", "BUY", "MARKET", "5")
        assert order.avg_price == estimate.average_price

    def test_against_a_quote_without_sizes(self, broker: PaperBroker) -> None:
        data = MarketData(symbol="BTCUSDT", bid="100.0", ask="100.2", last="100.1")
        estimate = broker.simulate_slippage(OrderRequest.market("BTCUSDT", "SELL", "7"), data)
        assert (estimate.average_price, estimate.slippage) == (D("100.0"), D(0))

    def test_against_a_quote_with_a_size(self, broker: PaperBroker) -> None:
        data = MarketData(symbol="BTCUSDT", bid="100.0", ask="100.2", last="100.1", ask_qty="1")
        estimate = broker.simulate_slippage(OrderRequest.market("BTCUSDT", "BUY", "3"), data)
        assert estimate.filled_qty == 1

    def test_a_limit_stops_the_walk(self) -> None:
        book = OrderBook(
            symbol="BTCUSDT",
            asks=[
                OrderBookLevel(price="10.2", quantity="1"),
                OrderBookLevel(price="10.1", quantity="1"),
            ],
        )
        estimate = BookWalkSlippageModel().estimate(book, OrderSide.BUY, D(2), limit=D("10.1"))
        assert (estimate.filled_qty, estimate.average_price) == (D(1), D("10.1"))


class TestLinear:
    """Base plus size impact, rounded a tick against the taker; depth is not consumed."""

    def model_broker(self) -> PaperBroker:
        broker = new_broker(
            slippage_model=LinearSlippageModel(base_bps="1", impact_bps_per_unit="2")
        )
        quote(broker)
        return broker

    async def test_buy_pays_the_modelled_price(self) -> None:
        broker = self.model_broker()
        # 60000.1 * (1 + (1 + 2 * 0.5) / 10000) = 60012.10002 -> up to 60012.2
        estimate = broker.simulate_slippage(OrderRequest.market("BTCUSDT", "BUY", "0.5"))
        assert estimate.average_price == D("60012.2")
        order = await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.5")
        assert order.avg_price == D("60012.2")
        (fill,) = await broker.get_fills("BTCUSDT")
        assert fill.commission == D("60012.2") * D("0.5") * TAKER

    async def test_sell_mirrors_it(self) -> None:
        broker = self.model_broker()
        order = await broker.place_order("BTCUSDT", "SELL", "MARKET", "0.5")
        assert order.avg_price == D("59988.0")  # 60000.0 * (1 - 0.0002)

    async def test_a_limit_inside_the_model_price_rests(self) -> None:
        broker = self.model_broker()
        order = await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.5", "60005.0")
        assert order.status is OrderStatus.NEW
        with pytest.raises(ExchangeRejected) as caught:
            await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.5", "60005.0", "FOK")
        assert caught.value.code == -5021

    def test_rates_are_exact(self) -> None:
        with pytest.raises(InvalidNumber):
            LinearSlippageModel(base_bps=1.5)
        with pytest.raises(InvalidNumber):
            LinearSlippageModel(base_bps="-1")
