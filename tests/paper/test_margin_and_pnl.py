"""Margin reservation and release, -2019, realized and unrealized PnL, funding: by hand.

Leverage is 20 unless a test changes it; the mark price is the last price.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from trio_fapi.paper import PaperBroker
from trio_fapi.protocol.errors import ExchangeRejected

from .conftest import new_broker, quote

D = Decimal


class TestMargin:
    """Initial margin is notional / leverage; orders reserve it, cancels release it."""

    async def test_an_open_order_reserves_at_its_limit_price(self, broker: PaperBroker) -> None:
        await broker.place_order("BTCUSDT", "BUY", "LIMIT", "1", "59000.0")
        account = await broker.get_account_info()
        assert account.open_order_initial_margin == D(2950)  # 59000 / 20
        assert account.available_balance == D(7050)

    async def test_a_cancel_releases_the_reservation(self, broker: PaperBroker) -> None:
        order = await broker.place_order("BTCUSDT", "BUY", "LIMIT", "1", "59000.0")
        await broker.cancel_order("BTCUSDT", order.order_id)
        account = await broker.get_account_info()
        assert account.open_order_initial_margin == 0
        assert account.available_balance == D(10000)

    async def test_a_fill_turns_the_reservation_into_position_margin(
        self, broker: PaperBroker
    ) -> None:
        await broker.place_order("BTCUSDT", "BUY", "LIMIT", "1", "59000.0")
        quote(broker, "58999.9", "59000.0")
        account = await broker.get_account_info()
        assert account.open_order_initial_margin == 0
        assert account.position_initial_margin == D("58999.9") / 20  # at the mark
        assert account.wallet_balance == D(10000) - D("11.8")  # 59000 * 0.0002
        assert account.unrealized_pnl == D("-0.1")
        assert account.available_balance == (
            account.wallet_balance + account.unrealized_pnl - account.position_initial_margin
        )

    async def test_insufficient_margin_is_2019_and_changes_nothing(
        self, broker: PaperBroker
    ) -> None:
        await broker.place_order("BTCUSDT", "BUY", "LIMIT", "3.389", "59000.0")  # 9997.55
        before = await broker.get_account_info()
        with pytest.raises(ExchangeRejected) as caught:
            await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", "59000.0")  # +295
        assert (caught.value.code, caught.value.http_status) == (-2019, 400)
        assert await broker.get_account_info() == before
        assert len(await broker.get_open_orders()) == 1

    async def test_a_market_order_is_checked_at_the_touch(self, broker: PaperBroker) -> None:
        with pytest.raises(ExchangeRejected) as caught:
            await broker.place_order("BTCUSDT", "BUY", "MARKET", "3.4")  # 204000.34 / 20
        assert caught.value.code == -2019

    async def test_leverage_scales_the_requirement(self, broker: PaperBroker) -> None:
        broker.set_leverage("BTCUSDT", 10)
        await broker.place_order("BTCUSDT", "BUY", "LIMIT", "1", "59000.0")
        assert (await broker.get_account_info()).open_order_initial_margin == D(5900)
        with pytest.raises(ExchangeRejected) as caught:
            broker.set_leverage("BTCUSDT", 126)
        assert caught.value.code == -4028

    async def test_the_closing_part_of_an_order_reserves_nothing(self, broker: PaperBroker) -> None:
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "3")  # margin 9000 at 60000.0
        await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.3", "59000.0")  # reserves 885
        assert (await broker.get_account_info()).available_balance < 25
        # Selling 3 at 60000.1 closes a position marked at 60000.0: only 0.3 of
        # notional is beyond the position, so it reserves 0.3 / 20.
        await broker.place_order("BTCUSDT", "SELL", "LIMIT", "3", "60000.1")
        account = await broker.get_account_info()
        assert account.open_order_initial_margin == D(885) + D("0.015")
        with pytest.raises(ExchangeRejected) as caught:
            await broker.place_order("BTCUSDT", "SELL", "LIMIT", "3", "60000.1")  # would open
        assert caught.value.code == -2019


class TestPnL:
    """Realized on reducing fills, unrealized at the mark, fees and funding apart."""

    async def test_round_trip_by_hand(self) -> None:
        broker = new_broker("100000")
        quote(broker)
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "1")  # at 60000.1
        quote(broker, "61000.0", "61000.1")
        assert broker.calculate_pnl("BTCUSDT").unrealized == D("999.9")
        await broker.place_order("BTCUSDT", "SELL", "MARKET", "0.4")  # at 61000.0
        pnl = broker.calculate_pnl("BTCUSDT")
        assert pnl.realized == D("399.96")  # 0.4 * (61000.0 - 60000.1)
        assert pnl.unrealized == D("599.94")  # 0.6 * (61000.0 - 60000.1)
        assert pnl.commission == D("42.20005")  # 30.00005 + 12.2
        assert pnl.total == D("999.90")
        assert pnl.net == D("957.69995")
        account = await broker.get_account_info()
        assert account.wallet_balance == D(100000) + pnl.realized - pnl.commission

    async def test_short_gains_when_the_price_falls(self, broker: PaperBroker) -> None:
        await broker.place_order("BTCUSDT", "SELL", "MARKET", "0.5")  # at 60000.0
        quote(broker, "59000.0", "59000.1")
        position = broker.get_position("BTCUSDT")
        assert position.unrealized_pnl == D("500.0")
        assert position.notional == D("-29500.0")
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.5")  # at 59000.1
        assert broker.calculate_pnl("BTCUSDT").realized == D("499.95")

    async def test_pnl_is_per_symbol(self, broker: PaperBroker) -> None:
        broker.update_market_data("ETHUSDT", "3000.00", "3000.01", "3000.00", "10")
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.1")
        await broker.place_order("ETHUSDT", "BUY", "MARKET", "1")
        broker.update_market_data("ETHUSDT", "3010.00", "3010.01", "3010.00", "10")
        assert broker.calculate_pnl("ETHUSDT").unrealized == D("9.99")
        assert broker.calculate_pnl("BTCUSDT").unrealized == D("-0.01")
        assert broker.calculate_pnl("SOLUSDT").total == 0


class TestFunding:
    """Funding is notional times rate at the mark; with a positive rate longs pay."""

    async def test_long_pays_short_receives(self, broker: PaperBroker) -> None:
        broker.set_hedge_mode(True)
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "1", position_side="LONG")
        await broker.place_order("BTCUSDT", "SELL", "MARKET", "0.5", position_side="SHORT")
        wallet = (await broker.get_account_info()).wallet_balance
        paid = broker.settle_funding("BTCUSDT", "0.0001")
        assert paid == D("-3.0")  # -6.0 on the long, +3.0 on the short, at 60000.0
        assert broker.get_position("BTCUSDT", "LONG").funding == D("-6.0")
        assert broker.get_position("BTCUSDT", "SHORT").funding == D("3.0")
        assert (await broker.get_account_info()).wallet_balance == wallet - 3
        assert broker.calculate_pnl("BTCUSDT").funding == D("-3.0")

    async def test_no_position_no_payment(self, broker: PaperBroker) -> None:
        assert broker.settle_funding("BTCUSDT", "0.0003") == 0
