"""The sim core's extensions the paper broker stands on, tested at the core."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import attrs
import pytest

from trio_fapi.protocol.enums import OrderSide, OrderStatus, PositionSide
from trio_fapi.sim import SimError, SimulatedExchange, default_config
from trio_fapi.sim.market import Level
from trio_fapi.sim.matching import Fill
from trio_fapi.sim.records import ExecutionType, FundingSettled, LedgerEvent, OrderChanged

from ..sim.conftest import T0, new_exchange, place

D = Decimal


class TestObservers:
    """The ledger tells observers every change, in order, with detached snapshots."""

    def test_events_in_order(self) -> None:
        exchange = new_exchange()
        events: list[LedgerEvent] = []
        exchange.ledger.observers.append(events.append)
        order = place(exchange, "BUY", "0.1", "59000.0")
        exchange.ledger.cancel_all("BTCUSDT", T0)
        place(exchange, "BUY", "3")
        changes = [e for e in events if isinstance(e, OrderChanged)]
        assert [c.execution_type for c in changes] == [
            ExecutionType.NEW,
            ExecutionType.CANCELED,
            ExecutionType.NEW,
            ExecutionType.TRADE,
            ExecutionType.TRADE,
        ]
        assert changes[0].order.order_id == order.order_id
        assert changes[0].order.status is OrderStatus.NEW  # not the later CANCELED
        assert [c.fill.qty for c in changes if c.fill is not None] == [D("2.000"), D(1)]
        assert [c.update for c in changes] == exchange.ledger.order_updates

    def test_funding_is_told_too(self) -> None:
        exchange = new_exchange()
        place(exchange, "SELL", "0.5")
        events: list[LedgerEvent] = []
        exchange.ledger.observers.append(events.append)
        total = exchange.ledger.settle_funding("BTCUSDT", D("0.0001"), T0)
        assert total == D("3.0")  # a short receives 0.5 * 60000 * 0.0001
        assert events == [
            FundingSettled(
                symbol="BTCUSDT",
                position_side=PositionSide.BOTH,
                position_amount=D("-0.5"),
                mark_price=D("60000.0"),
                rate=D("0.0001"),
                payment=D("3.0"),
                time=T0,
            )
        ]
        account = exchange.ledger.account
        assert account.wallet == account.realized_total - account.fees_total + D(100003)


class TestTakePlanner:
    """The ledger prices taker orders with whatever planner it is given."""

    def test_a_custom_planner(self) -> None:
        exchange = new_exchange()

        def one_tick_worse(
            levels: Sequence[Level],
            side: OrderSide,
            limit: Decimal | None,
            qty: Decimal,
            tick: Decimal,
            /,
        ) -> list[Fill]:
            return [Fill(levels[0].price + tick, qty)]

        exchange.ledger.take_planner = one_tick_worse
        order = place(exchange, "BUY", "0.5")
        assert order.avg_price == D("60000.2")


class TestQuotes:
    """A pushed quote holds the touch; the walk leaves it alone."""

    def test_quote_pins_against_the_walk(self) -> None:
        exchange = SimulatedExchange(default_config(seed=1), start_ms=T0)
        market = exchange.ledger.symbol_market("BTCUSDT")
        market.set_quote(D("50000.0"), D("50000.3"), D("50000.1"), T0, bid_qty=D("0.4"))
        exchange.advance(T0 + 60_000)
        assert (market.best_bid, market.best_ask, market.price) == (
            D("50000.0"),
            D("50000.3"),
            D("50000.1"),
        )
        assert market.book().bids[0] == Level(D("50000.0"), D("0.4"))
        market.set_price(D("50000.0"), T0 + 60_000)
        assert not market.is_pinned

    def test_no_data_no_orders(self) -> None:
        exchange = new_exchange()
        exchange.ledger.symbol_market("BTCUSDT").has_data = False
        with pytest.raises(SimError) as caught:
            place(exchange, "BUY", "0.1")
        assert caught.value.code == -1112


class TestFees:
    """A symbol may carry its own rates."""

    def test_per_symbol_rates(self) -> None:
        cfg = default_config().still_market()
        btc = attrs.evolve(cfg.symbols[0], taker_fee=D("0.001"))
        exchange = new_exchange(attrs.evolve(cfg, symbols=(btc, *cfg.symbols[1:])))
        place(exchange, "BUY", "1")
        place(exchange, "BUY", "1", symbol="ETHUSDT")
        btc_fee, eth_fee = (e.commission for e in exchange.ledger.executions)
        assert btc_fee == D("60.0001")  # 60000.1 * 0.001
        assert eth_fee == D("1.500005")  # 3000.01 * 0.0005
