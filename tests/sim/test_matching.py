"""Matching against the synthetic book: every time-in-force, fees, the event log.

BTCUSDT in the still market: bid 60000.00, ask 60000.10, 20 levels a side of
2.000 each (``thin_btc_config``: 0.005 each).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from trio_fapi.protocol.enums import OrderStatus
from trio_fapi.sim import SimError
from trio_fapi.sim.commands import OrderRef
from trio_fapi.sim.records import SimOrder

from .conftest import T0, new_exchange, place, thin_btc_config


def status_of(order: SimOrder) -> OrderStatus:
    """The order's status now (a call, so mypy does not pin an earlier assert)."""
    return order.status


class TestLimitGtc:
    """A GTC order rests, then fills as a maker when the price path crosses it."""

    def test_rests_when_not_crossing(self) -> None:
        ex = new_exchange()
        order = place(ex, "BUY", "0.010", "59990.00")
        assert status_of(order) is OrderStatus.NEW
        assert ex.ledger.all_open_orders("BTCUSDT") == [order]
        assert ex.ledger.executions == []

    def test_fills_as_maker_when_price_crosses(self) -> None:
        ex = new_exchange()
        order = place(ex, "BUY", "0.010", "59990.00")
        ex.set_price("BTCUSDT", "59980.00", T0 + 50)
        assert status_of(order) is OrderStatus.FILLED
        (fill,) = ex.ledger.executions
        assert fill.maker
        assert fill.price == Decimal("59990.00")  # its own limit, not the book's
        assert fill.commission == Decimal("0.11998000")  # 59990 * 0.010 * 0.0002

    def test_partial_fills_over_several_steps(self) -> None:
        ex = new_exchange(thin_btc_config())
        order = place(ex, "BUY", "0.050", "59990.00")
        # Asks at 59989.80, 59989.90 and 59990.00 cross: 0.015 per step.
        ex.set_price("BTCUSDT", "59989.70", T0)
        assert order.executed_qty == Decimal("0.015")
        assert status_of(order) is OrderStatus.PARTIALLY_FILLED
        ex.advance(T0 + 100)
        assert order.executed_qty == Decimal("0.030")
        ex.advance(T0 + 300)
        assert status_of(order) is OrderStatus.FILLED
        assert [e.qty for e in ex.ledger.executions] == [Decimal("0.015")] * 3 + [Decimal("0.005")]
        assert all(e.maker and e.price == Decimal("59990.00") for e in ex.ledger.executions)

    def test_crossing_limit_takes_then_rests(self) -> None:
        ex = new_exchange(thin_btc_config())
        order = place(ex, "BUY", "0.020", "60000.20")
        # Takes 60000.10 and 60000.20 (0.005 each) as taker, rests the rest.
        assert order.executed_qty == Decimal("0.010")
        assert status_of(order) is OrderStatus.PARTIALLY_FILLED
        assert [e.maker for e in ex.ledger.executions] == [False, False]
        ex.advance(T0 + 100)  # the book refills and still crosses: maker fills
        assert status_of(order) is OrderStatus.FILLED
        assert ex.ledger.executions[-1].maker


class TestImmediateKinds:
    """IOC, FOK, GTX and MARKET never rest."""

    def test_ioc_remainder_expires(self) -> None:
        ex = new_exchange(thin_btc_config())
        order = place(ex, "BUY", "0.020", "60000.20", tif="IOC")
        assert order.executed_qty == Decimal("0.010")
        assert status_of(order) is OrderStatus.EXPIRED
        assert order.expiry_reason == 2
        assert ex.ledger.all_open_orders() == []

    def test_fok_that_cannot_fill_is_rejected_and_not_stored(self) -> None:
        ex = new_exchange(thin_btc_config())
        with pytest.raises(SimError) as err:
            place(ex, "BUY", "0.020", "60000.20", tif="FOK")
        assert err.value.code == -5021
        assert ex.ledger.orders["BTCUSDT"] == {}
        assert ex.ledger.executions == []

    def test_fok_that_can_fill_fills(self) -> None:
        ex = new_exchange(thin_btc_config())
        order = place(ex, "BUY", "0.010", "60000.20", tif="FOK")
        assert status_of(order) is OrderStatus.FILLED

    def test_gtx_that_would_take_is_rejected(self) -> None:
        ex = new_exchange()
        with pytest.raises(SimError) as err:
            place(ex, "BUY", "0.010", "60000.10", tif="GTX")
        assert err.value.code == -5022
        assert ex.ledger.orders["BTCUSDT"] == {}

    def test_gtx_that_rests_is_accepted(self) -> None:
        order = place(new_exchange(), "SELL", "0.010", "60000.10", tif="GTX")
        assert status_of(order) is OrderStatus.NEW

    def test_market_walks_levels(self) -> None:
        ex = new_exchange()
        order = place(ex, "BUY", "3.000")
        assert status_of(order) is OrderStatus.FILLED
        assert [(e.price, e.qty) for e in ex.ledger.executions] == [
            (Decimal("60000.10"), Decimal("2.000")),
            (Decimal("60000.20"), Decimal("1.000")),
        ]
        assert order.avg_price == Decimal("60000.13333333")

    def test_market_without_enough_depth_expires_partially_filled(self) -> None:
        ex = new_exchange(thin_btc_config())
        order = place(ex, "SELL", "0.150")  # 20 bid levels x 0.005 = 0.100
        assert order.executed_qty == Decimal("0.100")
        assert status_of(order) is OrderStatus.EXPIRED
        assert order.expiry_reason == 9

    def test_taken_liquidity_is_gone_for_the_next_order(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "2.000")
        place(ex, "BUY", "0.010")
        assert ex.ledger.executions[-1].price == Decimal("60000.20")


class TestFeesAndEvents:
    """Taker and maker rates, and one order-update event per change."""

    def test_taker_fee(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "0.010")
        (fill,) = ex.ledger.executions
        assert not fill.maker
        assert fill.commission == Decimal("0.30000050")  # 60000.10 * 0.010 * 0.0005
        assert ex.ledger.account.wallet == Decimal(100000) - Decimal("0.30000050")

    def test_event_log_of_a_partly_filled_ioc(self) -> None:
        ex = new_exchange(thin_btc_config())
        order = place(ex, "BUY", "0.020", "60000.20", tif="IOC")
        events = [(u.o["x"], u.o["X"], u.o["l"], u.o["z"]) for u in ex.ledger.order_updates]
        assert events == [
            ("NEW", "NEW", "0.000", "0.000"),
            ("TRADE", "PARTIALLY_FILLED", "0.005", "0.005"),
            ("TRADE", "PARTIALLY_FILLED", "0.005", "0.010"),
            ("EXPIRED", "EXPIRED", "0.000", "0.010"),
        ]
        trade = ex.ledger.order_updates[1].to_wire()
        assert trade["e"] == "ORDER_TRADE_UPDATE"
        o = trade["o"]
        assert isinstance(o, dict)
        assert o["i"] == order.order_id
        assert o["N"] == "USDT"
        assert o["L"] == "60000.10"
        assert o["m"] is False

    def test_executions_carry_ids_and_pnl(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "0.010")
        place(ex, "SELL", "0.010")
        first, second = ex.ledger.executions
        assert second.trade_id == first.trade_id + 1
        assert second.order_id == first.order_id + 1
        assert second.realized_pnl == Decimal("-0.00100000")  # sold 0.10 lower


class TestCancelAndQuery:
    """Cancel refuses finished orders; query finds orders by either id."""

    def test_cancel_open_order(self) -> None:
        ex = new_exchange()
        order = place(ex, "BUY", "0.010", "59990.00", client_order_id="a1")
        ex.ledger.cancel(OrderRef(symbol="BTCUSDT", client_order_id="a1"), T0)
        assert status_of(order) is OrderStatus.CANCELED
        with pytest.raises(SimError) as err:
            ex.ledger.cancel(OrderRef(symbol="BTCUSDT", order_id=order.order_id), T0)
        assert err.value.code == -2011

    def test_order_ids_count_per_symbol(self) -> None:
        ex = new_exchange()
        a = place(ex, "BUY", "0.010", "59990.00")
        b = place(ex, "BUY", "0.010", "2990.00", symbol="ETHUSDT")
        c = place(ex, "BUY", "0.010", "59980.00")
        assert c.order_id == a.order_id + 1
        assert b.order_id != a.order_id + 1

    def test_generated_client_ids_are_legal_and_seeded(self) -> None:
        a = place(new_exchange(), "BUY", "0.010", "59990.00")
        b = place(new_exchange(), "BUY", "0.010", "59990.00")
        assert a.client_order_id == b.client_order_id
        assert len(a.client_order_id) == 22
        assert a.client_order_id.isalnum()
