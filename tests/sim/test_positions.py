"""Positions, PnL and margin, with numbers computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trio_fapi.protocol.enums import OrderStatus, PositionSide
from trio_fapi.sim import SimError

from .conftest import T0, new_exchange, place

_BOTH = PositionSide.BOTH


class TestOneWay:
    """Entry price is the weighted average; reducing realizes PnL."""

    def test_buy_then_partial_sell(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "0.010")  # 0.010 @ 60000.10, fee 0.3000005
        ex.set_price("BTCUSDT", "61000.00", T0)
        place(ex, "SELL", "0.004")  # 0.004 @ 61000.00 (the bid), fee 0.122
        account = ex.ledger.account
        pos = account.position("BTCUSDT", _BOTH)
        assert pos.amount == Decimal("0.006")
        assert pos.entry_price == Decimal("60000.10")
        realized = ex.ledger.executions[-1].realized_pnl
        assert realized == Decimal("3.99960000")  # 0.004 * (61000.00 - 60000.10)
        assert account.wallet == Decimal(100000) - Decimal("0.3000005") + realized - Decimal(
            "0.122"
        )
        assert pos.unrealized(Decimal("61000.00")) == Decimal("5.99940")

    def test_weighted_entry(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "0.010")  # @ 60000.10
        ex.set_price("BTCUSDT", "60300.00", T0)
        place(ex, "BUY", "0.020")  # @ 60300.10
        pos = ex.ledger.account.position("BTCUSDT", _BOTH)
        # (0.010 * 60000.10 + 0.020 * 60300.10) / 0.030 = 60200.10
        assert pos.entry_price == Decimal("60200.10")

    def test_flip_resets_entry_to_the_fill_price(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "0.010")  # long 0.010 @ 60000.10
        ex.set_price("BTCUSDT", "59000.00", T0)
        place(ex, "SELL", "0.030")  # @ 59000.00: closes 0.010, opens short 0.020
        pos = ex.ledger.account.position("BTCUSDT", _BOTH)
        assert pos.amount == Decimal("-0.020")
        assert pos.entry_price == Decimal("59000.00")
        assert ex.ledger.executions[-1].realized_pnl == Decimal("-10.00100000")

    def test_short_profits_when_price_falls(self) -> None:
        ex = new_exchange()
        place(ex, "SELL", "0.100")  # short @ 60000.00
        ex.set_price("BTCUSDT", "59000.00", T0)
        place(ex, "BUY", "0.100")  # covers @ 59000.10
        assert ex.ledger.executions[-1].realized_pnl == Decimal("99.99000000")
        assert ex.ledger.account.position("BTCUSDT", _BOTH).amount == 0


class TestHedgeMode:
    """LONG and SHORT are separate positions; the side must match the mode."""

    def test_long_and_short_coexist(self) -> None:
        ex = new_exchange()
        ex.ledger.account.dual_side = True
        place(ex, "BUY", "0.010", position_side="LONG")
        place(ex, "SELL", "0.020", position_side="SHORT")
        account = ex.ledger.account
        assert account.position("BTCUSDT", PositionSide.LONG).amount == Decimal("0.010")
        assert account.position("BTCUSDT", PositionSide.SHORT).amount == Decimal("-0.020")
        place(ex, "SELL", "0.010", position_side="LONG")  # closes the long
        assert account.position("BTCUSDT", PositionSide.LONG).amount == 0
        assert account.position("BTCUSDT", PositionSide.SHORT).amount == Decimal("-0.020")

    def test_side_must_match_the_mode(self) -> None:
        ex = new_exchange()
        with pytest.raises(SimError) as err:
            place(ex, "BUY", "0.010", position_side="LONG")
        assert err.value.code == -4061
        ex.ledger.account.dual_side = True
        with pytest.raises(SimError) as err:
            place(ex, "BUY", "0.010")
        assert err.value.code == -4061

    def test_reduce_only_is_not_allowed(self) -> None:
        ex = new_exchange()
        ex.ledger.account.dual_side = True
        with pytest.raises(SimError) as err:
            place(ex, "SELL", "0.010", position_side="LONG", reduce_only=True)
        assert err.value.code == -1106

    def test_closing_more_than_the_position_is_refused(self) -> None:
        ex = new_exchange()
        ex.ledger.account.dual_side = True
        place(ex, "BUY", "0.010", position_side="LONG")
        with pytest.raises(SimError) as err:
            place(ex, "SELL", "0.020", position_side="LONG")
        assert err.value.code == -2022


class TestReduceOnly:
    """Reduce-only may shrink a position, never grow or flip it (-2022)."""

    def test_without_a_position(self) -> None:
        with pytest.raises(SimError) as err:
            place(new_exchange(), "SELL", "0.010", reduce_only=True)
        assert err.value.code == -2022

    def test_same_side_as_the_position(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "0.010")
        with pytest.raises(SimError) as err:
            place(ex, "BUY", "0.010", reduce_only=True)
        assert err.value.code == -2022

    def test_would_flip(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "0.010")
        with pytest.raises(SimError) as err:
            place(ex, "SELL", "0.011", reduce_only=True)
        assert err.value.code == -2022

    def test_reduces_and_is_exempt_from_min_notional(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "0.010")
        order = place(ex, "SELL", "0.001", reduce_only=True)  # 60 USDT < 100 notional
        assert order.status is OrderStatus.FILLED
        assert ex.ledger.account.position("BTCUSDT", _BOTH).amount == Decimal("0.009")

    def test_resting_reduce_only_expires_when_position_is_gone(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "0.010")
        resting = place(ex, "SELL", "0.010", "60100.00", reduce_only=True)
        place(ex, "SELL", "0.010")  # closes the position elsewhere
        ex.set_price("BTCUSDT", "60200.00", T0)
        assert resting.status is OrderStatus.EXPIRED
        assert resting.executed_qty == 0


class TestMargin:
    """Initial margin is notional / leverage, and open orders reserve it (-2019)."""

    def test_order_beyond_the_balance(self) -> None:
        ex = new_exchange()
        ex.ledger.account.leverage["BTCUSDT"] = 1
        with pytest.raises(SimError) as err:
            place(ex, "BUY", "2.000", "59000.00")  # 118000 USDT at 1x
        assert err.value.code == -2019
        assert ex.ledger.orders["BTCUSDT"] == {}

    def test_open_orders_reserve_margin(self) -> None:
        ex = new_exchange()
        ex.ledger.account.leverage["BTCUSDT"] = 1
        place(ex, "BUY", "1.000", "59000.00")  # reserves 59000
        with pytest.raises(SimError) as err:
            place(ex, "BUY", "1.000", "59000.00")
        assert err.value.code == -2019
        marks = ex.ledger.marks()
        assert ex.ledger.account.order_margin(ex.ledger.open_orders_iter(), marks) == Decimal(59000)

    def test_closing_orders_need_no_margin(self) -> None:
        ex = new_exchange()
        ex.ledger.account.leverage["BTCUSDT"] = 1
        place(ex, "BUY", "1.500")  # uses ~90000 of 100000
        order = place(ex, "SELL", "1.500", "61000.00")  # only closes
        assert order.status is OrderStatus.NEW

    def test_leverage_multiplies_buying_power(self) -> None:
        ex = new_exchange()
        order = place(ex, "BUY", "2.000", "59000.00")  # 118000 / 20 = 5900
        assert order.status is OrderStatus.NEW
