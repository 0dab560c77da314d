"""Fill and order callbacks: once per fill, once per order change, in order, sync or async."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing

from trio_fapi.paper import PaperBroker, PaperFill, PaperOrder
from trio_fapi.protocol.enums import OrderStatus
from trio_fapi.protocol.errors import ExchangeRejected

from .conftest import new_broker, quote

D = Decimal


class Recorder:
    """Sync and async callbacks that keep what they were given."""

    def __init__(self) -> None:
        self.fills: list[PaperFill] = []
        self.orders: list[PaperOrder] = []
        self.async_fills: list[PaperFill] = []
        self.async_orders: list[PaperOrder] = []

    def attach(self, broker: PaperBroker) -> None:
        broker.register_fill_callback(self.fills.append)
        broker.register_order_callback(self.orders.append)
        broker.register_fill_callback(self.on_fill)
        broker.register_order_callback(self.on_order)

    async def on_fill(self, fill: PaperFill) -> None:
        await trio.lowlevel.checkpoint()
        self.async_fills.append(fill)

    async def on_order(self, order: PaperOrder) -> None:
        await trio.lowlevel.checkpoint()
        self.async_orders.append(order)


@pytest.fixture
def recorder(broker: PaperBroker) -> Recorder:
    rec = Recorder()
    rec.attach(broker)
    return rec


class TestOncePerEvent:
    """Every fill and every order change reaches every callback exactly once."""

    async def test_a_market_order_across_two_levels(
        self, broker: PaperBroker, recorder: Recorder
    ) -> None:
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "3")
        expected_fills = await broker.get_fills("BTCUSDT")
        assert recorder.fills == expected_fills
        assert recorder.async_fills == expected_fills
        assert [(f.price, f.quantity) for f in recorder.fills] == [
            (D("60000.1"), D("2.000")),
            (D("60000.2"), D(1)),
        ]
        statuses = [o.status for o in recorder.orders]
        assert statuses == [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED]
        assert [o.status for o in recorder.async_orders] == statuses
        assert [o.filled_qty for o in recorder.orders] == [0, D("2.000"), D(3)]

    async def test_rest_then_cancel(self, broker: PaperBroker, recorder: Recorder) -> None:
        order = await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", "59000.0")
        await broker.cancel_order("BTCUSDT", order.order_id)
        assert [o.status for o in recorder.orders] == [OrderStatus.NEW, OrderStatus.CANCELED]
        assert recorder.async_orders == recorder.orders
        assert recorder.fills == []

    async def test_a_refusal_is_no_order_change(
        self, broker: PaperBroker, recorder: Recorder
    ) -> None:
        with pytest.raises(ExchangeRejected, match="-5022") as caught:
            await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", "60000.1", "GTX")
        assert caught.value.code == -5022
        assert recorder.orders == []

    async def test_ioc_remainder_is_its_own_change(
        self, broker: PaperBroker, recorder: Recorder
    ) -> None:
        await broker.place_order("BTCUSDT", "BUY", "LIMIT", "3", "60000.1", "IOC")
        assert [o.status for o in recorder.orders] == [
            OrderStatus.NEW,
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.EXPIRED,
        ]
        assert len(recorder.fills) == 1

    async def test_registered_late_sees_only_what_follows(self, broker: PaperBroker) -> None:
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.1")
        late: list[PaperFill] = []
        broker.register_fill_callback(late.append)
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.2")
        assert [f.quantity for f in late] == [D("0.2")]


class TestNoCallbacks:
    """Without a callback the broker asks the ledger for no event snapshots."""

    async def test_the_ledger_is_observed_from_the_first_callback(self) -> None:
        broker = new_broker()
        quote(broker)
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.1")
        assert broker.exchange.ledger.observers == []
        fills: list[PaperFill] = []
        broker.register_fill_callback(fills.append)
        broker.register_order_callback(lambda order: None)
        assert len(broker.exchange.ledger.observers) == 1
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.2")
        assert [f.quantity for f in fills] == [D("0.2")]


class TestMarketDataFills:
    """Fills caused by pushed data: sync callbacks at once, async ones when delivered."""

    async def test_sync_callbacks_run_inside_the_push(
        self, broker: PaperBroker, recorder: Recorder
    ) -> None:
        await broker.place_order("BTCUSDT", "SELL", "LIMIT", "0.5", "60010.0")
        quote(broker, "60010.0", "60010.1")
        assert [f.maker for f in recorder.fills] == [True]
        assert recorder.async_fills == []
        await broker.flush_callbacks()
        assert recorder.async_fills == recorder.fills

    async def test_the_dispatcher_delivers_async_callbacks(
        self, broker: PaperBroker, recorder: Recorder
    ) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(broker.run)
            await broker.place_order("BTCUSDT", "SELL", "LIMIT", "0.5", "60010.0")
            quote(broker, "60010.0", "60010.1")
            await trio.testing.wait_all_tasks_blocked()
            assert recorder.async_fills == recorder.fills
            assert len(recorder.async_fills) == 1
            nursery.cancel_scope.cancel()


class TestCallbacksThatTrade:
    """A callback may call the broker; nothing is delivered twice or out of order."""

    async def test_a_fill_callback_places_a_take_profit(self) -> None:
        broker = new_broker()
        quote(broker)
        seen: list[tuple[str, OrderStatus]] = []

        async def take_profit(fill: PaperFill) -> None:
            if fill.side.value == "BUY":
                await broker.place_order("BTCUSDT", "SELL", "LIMIT", fill.quantity, fill.price + 10)

        def watch(order: PaperOrder) -> None:
            seen.append((order.side.value, order.status))

        broker.register_fill_callback(take_profit)
        broker.register_order_callback(watch)
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.5")
        (tp,) = await broker.get_open_orders("BTCUSDT")
        assert (tp.side.value, tp.price) == ("SELL", D("60010.1"))
        assert seen == [
            ("BUY", OrderStatus.NEW),
            ("BUY", OrderStatus.FILLED),
            ("SELL", OrderStatus.NEW),
        ]

    async def test_a_raising_callback_fails_its_caller_once(self, broker: PaperBroker) -> None:
        calls: list[PaperFill] = []

        def fragile(fill: PaperFill) -> None:
            calls.append(fill)
            raise RuntimeError("strategy bug")

        broker.register_fill_callback(fragile)
        await broker.place_order("BTCUSDT", "SELL", "LIMIT", "0.5", "60010.0")
        with pytest.raises(RuntimeError, match="strategy bug"):
            quote(broker, "60010.0", "60010.1")
        # The fill happened (the venue stayed consistent) and is not redelivered.
        assert broker.get_position("BTCUSDT").amount == D("-0.5")
        await broker.flush_callbacks()
        assert len(calls) == 1

    async def test_an_async_def_registered_as_a_callable_object(self, broker: PaperBroker) -> None:
        class Counter:
            def __init__(self) -> None:
                self.count = 0

            async def __call__(self, fill: PaperFill) -> None:
                self.count += 1

        counter = Counter()
        broker.register_fill_callback(counter)
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "3")
        assert counter.count == 2
