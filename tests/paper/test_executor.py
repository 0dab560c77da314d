"""The executor trades on the paper broker in-process, strategies unchanged."""

from __future__ import annotations

import io
from decimal import Decimal

import trio
import trio.testing
from rich.console import Console

from trio_fapi import OrderRequest, OrderStatus, open_executor
from trio_fapi.demo import run_demo
from trio_fapi.paper import PaperFill, PaperOrder, open_paper_venue

from .conftest import new_broker, quote

D = Decimal


class TestExecutorOnPaper:
    """Orders placed through the executor land in the broker's ledger, and back."""

    async def test_a_resting_quote_filled_by_market_data(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        broker = new_broker("100000")
        quote(broker)
        fills: list[PaperFill] = []
        changes: list[PaperOrder] = []
        broker.register_fill_callback(fills.append)
        broker.register_order_callback(changes.append)
        with trio.fail_after(60):
            async with (
                open_paper_venue(broker, poll_interval_s=0.5) as venue,
                open_executor(venue.config, transport=venue.transport) as ex,
            ):
                maker = ex.strategy("maker")
                ticker = await ex.book_ticker("BTCUSDT")
                assert (ticker.bid_price, ticker.ask_price) == (D("60000.0"), D("60000.1"))
                placed = await maker.place(OrderRequest.limit("BTCUSDT", "BUY", "0.002", "59990.0"))
                assert placed.status is OrderStatus.NEW
                (resting,) = await broker.get_open_orders("BTCUSDT")
                assert resting.client_order_id == placed.client_order_id.value

                quote(broker, "59980.0", "59980.1")  # the market trades through the bid
                snapshot = await maker.query("BTCUSDT", placed.client_order_id)
                assert snapshot.status is OrderStatus.FILLED
                (position,) = await ex.positions("BTCUSDT")
                assert (position.amount, position.entry_price) == (D("0.002"), D("59990.0"))
        assert [(f.price, f.quantity, f.maker) for f in fills] == [(D("59990.0"), D("0.002"), True)]
        assert [c.status for c in changes] == [OrderStatus.NEW, OrderStatus.FILLED]
        assert broker.get_position("BTCUSDT").amount == D("0.002")

    async def test_a_market_order_reaches_async_callbacks_through_the_dispatcher(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        broker = new_broker("100000")
        quote(broker)
        seen: list[PaperFill] = []

        async def on_fill(fill: PaperFill) -> None:
            seen.append(fill)

        broker.register_fill_callback(on_fill)
        broker.set_latency_simulation(4, 4)
        with trio.fail_after(60):
            async with (
                open_paper_venue(broker) as venue,
                open_executor(venue.config, transport=venue.transport) as ex,
            ):
                order = await ex.place_order(OrderRequest.market("BTCUSDT", "SELL", "0.003"))
                assert order.status is OrderStatus.FILLED
                await trio.testing.wait_all_tasks_blocked()
                assert [(f.price, f.quantity) for f in seen] == [(D("60000.0"), D("0.003"))]
                account = await ex.account()
                paper = await broker.get_account_info()
                assert account.total_wallet_balance == paper.wallet_balance


class TestDemo:
    """``trio-fapi demo --paper`` runs the demo strategies on the paper broker."""

    async def test_paper_demo(self, autojump_clock: trio.testing.MockClock) -> None:
        out = io.StringIO()
        result = await run_demo(
            seconds=5, seed=3, live=False, paper=True, console=Console(file=out, width=160)
        )
        taker = result.tallies["taker"]
        assert taker.fills >= 5
        assert taker.errors == 0
        # A market maker's post-only quote may be refused (-5022) when the walk
        # moves between reading the book and placing: that is the only error.
        assert all(t.errors == t.rejected for t in result.tallies.values())
        assert result.fees > 0
        assert "summary" in out.getvalue()
