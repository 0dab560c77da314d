"""Fills against the book, time in force, reduce-only and positions, computed by hand.

BUY takers meet asks of 2.000 BTC at 60000.1, 60000.2, ...; SELL takers meet
bids of 2.000 at 60000.0, 59999.9, ... (see conftest). Taker fills pay 5 bps,
maker fills 2 bps.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from trio_fapi.paper import PaperBroker
from trio_fapi.protocol.enums import OrderStatus, PositionSide
from trio_fapi.protocol.errors import (
    ExchangeRejected,
    FilterViolation,
    InvalidCombination,
    InvalidNumber,
    UnknownSymbol,
)

from .conftest import MAKER, T0, TAKER, new_broker, quote

D = Decimal


async def fills_of(broker: PaperBroker) -> list[tuple[Decimal, Decimal, bool]]:
    return [(f.price, f.quantity, f.maker) for f in await broker.get_fills("BTCUSDT")]


class TestMarketOrders:
    """A MARKET order takes the book at taker rates, level by level."""

    async def test_fills_at_the_touch(self, broker: PaperBroker) -> None:
        order = await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.5")
        assert order.status is OrderStatus.FILLED
        assert order.avg_price == D("60000.1")
        fill = (await broker.get_fills("BTCUSDT"))[0]
        assert fill.commission == D("15.00002500")  # 60000.1 * 0.5 * 0.0005
        assert not fill.maker
        account = await broker.get_account_info()
        assert account.wallet_balance == D("9984.99997500")

    async def test_walks_the_depth_and_pays_for_it(self) -> None:
        broker = new_broker("100000")
        quote(broker)
        order = await broker.place_order("BTCUSDT", "BUY", "MARKET", "5")
        assert await fills_of(broker) == [
            (D("60000.1"), D("2.000"), False),
            (D("60000.2"), D("2.000"), False),
            (D("60000.3"), D(1), False),
        ]
        assert order.avg_price == D("60000.18")
        fees = sum(f.commission for f in await broker.get_fills("BTCUSDT"))
        assert fees == D("150.00045")  # (120000.2 + 120000.4 + 60000.3) * 0.0005

    async def test_what_the_book_cannot_hold_expires(self) -> None:
        broker = new_broker("1000000")
        quote(broker)
        order = await broker.place_order("BTCUSDT", "SELL", "MARKET", "41")
        assert order.status is OrderStatus.EXPIRED
        assert order.expiry_reason == 9
        assert order.filled_qty == D("40.000")  # 20 levels of 2.000
        assert broker.get_position("BTCUSDT").amount == D("-40.000")

    async def test_the_same_step_cannot_be_drained_twice(self, broker: PaperBroker) -> None:
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "2")
        second = await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.1")
        assert second.avg_price == D("60000.2")


class TestLimitOrders:
    """A marketable LIMIT takes; the rest, and any non-crossing LIMIT, rests as a maker."""

    async def test_marketable_limit_takes_within_its_price(self, broker: PaperBroker) -> None:
        order = await broker.place_order("BTCUSDT", "BUY", "LIMIT", "3", "60000.2")
        assert order.status is OrderStatus.FILLED
        assert await fills_of(broker) == [
            (D("60000.1"), D("2.000"), False),
            (D("60000.2"), D(1), False),
        ]

    async def test_remainder_past_the_limit_rests(self) -> None:
        broker = new_broker("100000")
        quote(broker)
        order = await broker.place_order("BTCUSDT", "BUY", "LIMIT", "5", "60000.2")
        assert order.status is OrderStatus.PARTIALLY_FILLED
        assert order.filled_qty == D("4.000")
        assert [o.order_id for o in await broker.get_open_orders("BTCUSDT")] == [order.order_id]

    async def test_rests_then_fills_as_maker_when_data_crosses(self, broker: PaperBroker) -> None:
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.5")
        ask = await broker.place_order("BTCUSDT", "SELL", "LIMIT", "0.5", "60010.0")
        assert ask.status is OrderStatus.NEW
        quote(broker, "60009.9", "60010.0")  # the bid has not reached it
        assert await broker.get_open_orders("BTCUSDT") != []
        quote(broker, "60010.0", "60010.1")
        assert await broker.get_open_orders("BTCUSDT") == []
        maker_fill = (await broker.get_fills("BTCUSDT"))[-1]
        assert (maker_fill.price, maker_fill.maker) == (D("60010.0"), True)
        assert maker_fill.commission == D("60010.0") * D("0.5") * MAKER
        assert maker_fill.realized_pnl == D("4.95")  # 0.5 * (60010.0 - 60000.1)
        account = await broker.get_account_info()
        assert account.wallet_balance == D(10000) + D("4.95") - D("15.000025") - D("6.001")

    async def test_partial_fills_against_thin_depth(self, broker: PaperBroker) -> None:
        order = await broker.place_order("BTCUSDT", "SELL", "LIMIT", "3", "60010.0")
        quote(broker, "60010.0", "60010.1", bid_qty="1.2")
        (after_one,) = await broker.get_open_orders("BTCUSDT")
        assert after_one.status is OrderStatus.PARTIALLY_FILLED
        assert after_one.filled_qty == D("1.2")
        quote(broker, "60010.0", "60010.1", bid_qty="1.2")  # fresh liquidity
        quote(broker, "60010.0", "60010.1", bid_qty="1.2")
        history = await broker.get_order_history("BTCUSDT")
        assert history[-1].order_id == order.order_id
        assert history[-1].status is OrderStatus.FILLED
        assert [q for _, q, _ in await fills_of(broker)] == [D("1.2"), D("1.2"), D("0.6")]


class TestTimeInForce:
    """IOC, FOK and GTX follow Binance's semantics."""

    async def test_ioc_expires_its_remainder(self, broker: PaperBroker) -> None:
        order = await broker.place_order("BTCUSDT", "BUY", "LIMIT", "3", "60000.1", "IOC")
        assert (order.status, order.filled_qty, order.expiry_reason) == (
            OrderStatus.EXPIRED,
            D("2.000"),
            2,
        )
        assert await broker.get_open_orders() == []

    async def test_fok_that_cannot_fill_is_refused_and_not_stored(
        self, broker: PaperBroker
    ) -> None:
        with pytest.raises(ExchangeRejected) as caught:
            await broker.place_order("BTCUSDT", "BUY", "LIMIT", "3", "60000.1", "FOK")
        assert caught.value.code == -5021
        assert await broker.get_order_history("BTCUSDT") == []

    async def test_fok_that_can_fill_fills_completely(self, broker: PaperBroker) -> None:
        order = await broker.place_order("BTCUSDT", "BUY", "LIMIT", "3", "60000.2", "FOK")
        assert (order.status, order.filled_qty) == (OrderStatus.FILLED, D(3))

    async def test_post_only_that_would_take_is_refused(self, broker: PaperBroker) -> None:
        with pytest.raises(ExchangeRejected) as caught:
            await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", "60000.1", "GTX")
        assert caught.value.code == -5022

    async def test_post_only_rests(self, broker: PaperBroker) -> None:
        order = await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", "60000.0", "GTX")
        assert order.status is OrderStatus.NEW


class TestCancel:
    """Cancels by venue id or client id; a finished or unknown order is -2011."""

    async def test_cancel_by_id_then_again(self, broker: PaperBroker) -> None:
        order = await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", "59000.0")
        canceled = await broker.cancel_order("BTCUSDT", order.order_id)
        assert canceled.status is OrderStatus.CANCELED
        with pytest.raises(ExchangeRejected) as caught:
            await broker.cancel_order("BTCUSDT", order.order_id)
        assert caught.value.code == -2011

    async def test_cancel_by_client_order_id(self, broker: PaperBroker) -> None:
        await broker.place_order(
            "BTCUSDT", "BUY", "LIMIT", "0.1", "59000.0", client_order_id="mine-1"
        )
        canceled = await broker.cancel_order("BTCUSDT", "mine-1")
        assert (canceled.client_order_id, canceled.status) == ("mine-1", OrderStatus.CANCELED)

    async def test_cancel_all(self, broker: PaperBroker) -> None:
        for price in ("59000.0", "58000.0"):
            await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", price)
        canceled = await broker.cancel_all_orders("BTCUSDT")
        assert [o.status for o in canceled] == [OrderStatus.CANCELED] * 2
        assert await broker.get_open_orders() == []


class TestPositions:
    """One-way and hedge mode, reduce-only, and flips through zero."""

    async def test_reduce_only_without_a_position_is_refused(self, broker: PaperBroker) -> None:
        with pytest.raises(ExchangeRejected) as caught:
            await broker.place_order("BTCUSDT", "SELL", "MARKET", "0.1", reduce_only=True)
        assert caught.value.code == -2022

    async def test_reduce_only_reduces(self, broker: PaperBroker) -> None:
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.5")
        await broker.place_order("BTCUSDT", "SELL", "MARKET", "0.2", reduce_only=True)
        assert broker.get_position("BTCUSDT").amount == D("0.3")
        with pytest.raises(ExchangeRejected) as caught:
            await broker.place_order("BTCUSDT", "SELL", "MARKET", "0.4", reduce_only=True)
        assert caught.value.code == -2022

    async def test_one_way_flip_realizes_the_closed_part(self, broker: PaperBroker) -> None:
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.5")
        await broker.place_order("BTCUSDT", "SELL", "MARKET", "0.8")
        position = broker.get_position("BTCUSDT")
        assert (position.amount, position.entry_price) == (D("-0.3"), D("60000.0"))
        assert position.realized_pnl == D("-0.05")  # 0.5 * (60000.0 - 60000.1)

    async def test_hedge_mode_keeps_long_and_short_apart(self) -> None:
        broker = new_broker("100000", hedge_mode=True)
        quote(broker)
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.5", position_side="LONG")
        await broker.place_order("BTCUSDT", "SELL", "MARKET", "0.3", position_side="SHORT")
        long, short = (
            broker.get_position("BTCUSDT", "LONG"),
            broker.get_position("BTCUSDT", "SHORT"),
        )
        assert (long.amount, long.entry_price) == (D("0.5"), D("60000.1"))
        assert (short.amount, short.entry_price) == (D("-0.3"), D("60000.0"))
        await broker.place_order("BTCUSDT", "SELL", "MARKET", "0.2", position_side="LONG")
        assert broker.get_position("BTCUSDT", "LONG").realized_pnl == D("-0.02")
        with pytest.raises(InvalidCombination):
            broker.get_position("BTCUSDT")
        with pytest.raises(ExchangeRejected) as caught:
            await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.1")
        assert caught.value.code == -4061

    async def test_mode_change_needs_a_flat_account(self, broker: PaperBroker) -> None:
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.1")
        with pytest.raises(ExchangeRejected) as caught:
            broker.set_hedge_mode(True)
        assert caught.value.code == -4068
        assert broker.get_position("BTCUSDT", PositionSide.BOTH).amount == D("0.1")


class TestInput:
    """Bad input is refused before anything reaches the venue."""

    @pytest.mark.parametrize(
        ("quantity", "price"),
        [(0.1, "59000.0"), ("0.1", 59000.0), (True, "59000.0")],
        ids=["float-qty", "float-price", "bool-qty"],
    )
    async def test_inexact_numbers(
        self, broker: PaperBroker, quantity: object, price: object
    ) -> None:
        with pytest.raises(InvalidNumber):
            await broker.place_order("BTCUSDT", "BUY", "LIMIT", quantity, price)
        assert await broker.get_order_history("BTCUSDT") == []

    async def test_filters_run_locally(self, broker: PaperBroker) -> None:
        with pytest.raises(FilterViolation) as caught:
            await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", "59000.05")
        assert caught.value.code == -4014

    @pytest.mark.parametrize("symbol", ["XRPUSDT", "btcusdt"])
    async def test_unknown_symbols(self, broker: PaperBroker, symbol: str) -> None:
        with pytest.raises(UnknownSymbol):
            await broker.place_order(symbol, "BUY", "MARKET", "1")

    async def test_conditional_types_are_for_the_executor(self, broker: PaperBroker) -> None:
        with pytest.raises(InvalidCombination):
            await broker.place_order("BTCUSDT", "SELL", "STOP_MARKET", "0.1")

    async def test_times_come_from_the_venue_clock(self, broker: PaperBroker) -> None:
        order = await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.1")
        assert order.time == T0


class TestSymbolsWithoutData:
    """A symbol listed from exchangeInfo without a price trades only after its first data."""

    async def test_refused_until_data_arrives(self) -> None:
        from trio_fapi.sim import default_config

        info = {
            "symbols": [default_config().symbols[0].rules.to_wire()],
            "rateLimits": [],
        }
        broker = PaperBroker({"USDT": "10000"}, exchange_info=info, epoch_ms=T0)
        with pytest.raises(ExchangeRejected) as caught:
            await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.01")
        assert caught.value.code == -1112
        broker.update_market_data("BTCUSDT", "42000.0", "42000.1", "42000.0", "3")
        order = await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.01")
        assert order.avg_price == D("42000.1")
        assert order.cum_quote * TAKER == (await broker.get_fills("BTCUSDT"))[0].commission
