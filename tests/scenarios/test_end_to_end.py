"""One order travels strategy -> symbol actor -> limiter -> pool -> httpx -> sim -> back."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from functools import partial

import attrs
import httpx
import pytest
import trio
import trio.testing

from trio_fapi import (
    Credentials,
    ExchangeClient,
    ExecutorConfig,
    InvalidOrder,
    OrderRequest,
    OrderStatus,
    open_executor,
)
from trio_fapi.actors.executor import Executor
from trio_fapi.protocol.errors import ExchangeRejected, InvalidCombination
from trio_fapi.protocol.filters import RateLimit
from trio_fapi.protocol.messages import OrderAccepted, OrderFilled
from trio_fapi.sim import SimConfig, SimHandle, default_config, open_sim


def total_requests(sim: SimHandle) -> int:
    by_path = sim.stats()["requests_by_path"]
    assert isinstance(by_path, dict)
    return sum(int(v) for v in by_path.values())


def ledger_orders(sim: SimHandle) -> list[dict[str, object]]:
    orders = sim.ledger()["orders"]
    assert isinstance(orders, list)
    return orders


def config_for(sim: SimHandle, **overrides: object) -> ExecutorConfig:
    return ExecutorConfig(
        base_url=sim.base_url,
        credentials=Credentials(api_key=sim.config.api_key, api_secret=sim.config.api_secret),
        seed=1,
        **overrides,  # type: ignore[arg-type]
    )


@asynccontextmanager
async def engine(
    sim_config: SimConfig | None = None,
    transport_wrapper: type[httpx.AsyncBaseTransport] | None = None,
    **overrides: object,
) -> AsyncIterator[tuple[SimHandle, Executor]]:
    async with open_sim(sim_config or default_config(seed=1)) as sim:
        transport: httpx.AsyncBaseTransport = sim.transport
        if transport_wrapper is not None:
            transport = transport_wrapper(sim.transport)  # type: ignore[call-arg]
        async with open_executor(config_for(sim, **overrides), transport=transport) as ex:
            yield sim, ex


async def below_market(ex: Executor, symbol: str = "BTCUSDT", ticks: int = 50) -> Decimal:
    book = await ex.book_ticker(symbol)
    tick = ex.rules(symbol).price_filter.tick_size
    return book.bid_price - tick * ticks


class TestHappyPath:
    """Orders placed through the engine land on the exchange exactly as reported."""

    async def test_limit_rests_then_cancels(self, autojump_clock: trio.testing.MockClock) -> None:
        async with engine() as (sim, ex):
            mm = ex.strategy("mm")
            price = await below_market(ex)
            order = await mm.place(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
            assert order.status is OrderStatus.NEW
            assert order.venue_order_id is not None
            listed = await ex.open_orders("BTCUSDT")
            assert [o.client_order_id for o in listed] == [order.client_order_id.value]
            canceled = await mm.cancel("BTCUSDT", order.client_order_id)
            assert canceled.status is OrderStatus.CANCELED
            (row,) = ledger_orders(sim)
            assert row["clientOrderId"] == order.client_order_id.value
            assert row["status"] == "CANCELED"

    async def test_market_order_fills_and_moves_the_position(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine() as (sim, ex):
            order = await ex.place_order(OrderRequest.market("BTCUSDT", "BUY", "0.010"))
            assert order.status is OrderStatus.FILLED
            assert order.executed_qty == Decimal("0.010")
            assert order.avg_price > 0
            (position,) = [p for p in await ex.positions("BTCUSDT") if p.amount != 0]
            assert position.amount == Decimal("0.010")
            (row,) = ledger_orders(sim)
            assert Decimal(str(row["executedQty"])) == order.executed_qty
            assert Decimal(str(row["avgPrice"])) == order.avg_price

    async def test_resting_order_fill_is_seen_by_polling(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(poll_interval_s=0.5) as (sim, ex):
            events = []
            async with ex.subscribe() as channel:
                price = await below_market(ex, ticks=5)
                order = await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
                sim.set_price("BTCUSDT", price - 100)  # the market trades through the bid
                with trio.fail_after(30):
                    while True:
                        event = await channel.receive()
                        events.append(event)
                        if (
                            isinstance(event, OrderFilled)
                            and event.order.status is OrderStatus.FILLED
                        ):
                            break
            (final,) = [o for o in ex.orders() if o.client_order_id == order.client_order_id]
            assert final.status is OrderStatus.FILLED
            assert final.executed_qty == Decimal("0.002")


class TestValidationBeforeIO:
    """faults.md rows 54-61: every bad input is refused with a typed error and zero requests."""

    @pytest.mark.parametrize(
        "build",
        [
            lambda: OrderRequest.limit("BTCUSDT", "BUY", "0", "60000"),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", "-0.002", "60000"),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", "0.002", "-1"),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", "NaN", "60000"),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", Decimal("Infinity"), "60000"),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", 0.002, "60000"),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", True, "60000"),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", "0.002 ", "60000"),
            lambda: OrderRequest.limit("btcusdt", "BUY", "0.002", "60000"),
            lambda: OrderRequest.limit("DOGEUSDT", "BUY", "0.002", "60000"),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", "0.0001", "60000"),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", "0.0025", "60000"),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", "0.001", "60000.05"),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", "0.001", "60000"),  # notional 60 < 100
            lambda: OrderRequest.limit(
                "BTCUSDT", "BUY", "0.002", "60000", client_order_id="bad id!"
            ),
            lambda: OrderRequest.limit(
                "BTCUSDT", "BUY", "0.002", "60000", client_order_id="x" * 37
            ),
            lambda: OrderRequest.market("BTCUSDT", "BUY", "0.002", time_in_force="GTC"),
            lambda: OrderRequest.limit(
                "BTCUSDT", "BUY", "0.002", "60000", reduce_only=True, position_side="LONG"
            ),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", "0.002", "60000", position_side="LONG"),
            lambda: OrderRequest(
                symbol="BTCUSDT", side="BUY", order_type="STOP_MARKET", quantity="0.002"
            ),
            lambda: OrderRequest.limit("BTCUSDT", "BUY", Decimal("1E-7"), "60000"),
        ],
        ids=[
            "zero-qty",
            "negative-qty",
            "negative-price",
            "nan",
            "inf",
            "float",
            "bool",
            "padded",
            "lower-case-symbol",
            "unknown-symbol",
            "below-min-qty",
            "off-step",
            "off-tick",
            "min-notional",
            "illegal-client-id",
            "client-id-too-long",
            "tif-on-market",
            "reduce-only-hedge",
            "position-side-one-way",
            "stop-without-trigger",
            "exponent-qty",
        ],
    )
    async def test_refused_with_zero_requests(
        self, build: object, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine() as (sim, ex):
            before = total_requests(sim)
            tokens = ex.statistics().limiter.granted
            with pytest.raises(InvalidOrder):
                await ex.place_order(build())  # type: ignore[operator]
            assert total_requests(sim) == before  # zero HTTP requests
            assert ex.statistics().limiter.granted == tokens  # zero limiter tokens

    async def test_reused_open_client_id_is_refused_locally(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine() as (sim, ex):
            price = await below_market(ex)
            request = OrderRequest.limit("BTCUSDT", "BUY", "0.002", price, client_order_id="mine-1")
            await ex.place_order(request)
            before = total_requests(sim)
            with pytest.raises(InvalidOrder):
                await ex.place_order(request)
            assert total_requests(sim) == before


class _ApplyThen503(httpx.AsyncBaseTransport):
    """Forwards the first new-order POST to the exchange, then loses the answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.lost = 0
        self.posts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        is_post = request.method == "POST" and request.url.path == "/fapi/v1/order"
        self.posts += is_post
        response = await self._inner.handle_async_request(request)
        if is_post and not self.lost:
            self.lost += 1
            return httpx.Response(
                503, json={"msg": "Unknown error, please check your request or try again later."}
            )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class TestAmbiguity:
    """An unknown placement outcome is resolved by evidence and never resent."""

    async def test_applied_then_503_resolves_without_a_duplicate(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_sim(default_config(seed=1)) as sim:
            transport = _ApplyThen503(sim.transport)
            async with open_executor(config_for(sim), transport=transport) as ex:
                price = await below_market(ex)
                order = await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
            assert order.status is OrderStatus.NEW
            # Exactly one placement was sent: the unknown outcome was resolved by a
            # query, not by a resend (a same-id resend would hide behind -4116).
            assert transport.posts == 1
            assert transport.lost == 1
            (row,) = ledger_orders(sim)
            assert row["clientOrderId"] == order.client_order_id.value
            assert row["status"] == "NEW"

    async def test_strategy_cancelled_mid_request_still_lands(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(transport_wrapper=_SlowOrderAnswers) as (sim, ex):
            price = await below_market(ex)
            async with ex.subscribe() as events:
                with trio.move_on_after(1.0) as scope:
                    await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
                assert scope.cancelled_caught  # the strategy gave up mid-request
                with trio.fail_after(30):
                    async for event in events:
                        if isinstance(event, OrderAccepted):
                            break
            (snap,) = ex.orders()
            assert snap.status is OrderStatus.NEW
            (row,) = ledger_orders(sim)
            assert row["clientOrderId"] == snap.client_order_id.value


class _SlowOrderAnswers(httpx.AsyncBaseTransport):
    """Applies new-order POSTs at once but answers them 3 s later."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method == "POST" and request.url.path == "/fapi/v1/order":
            await trio.sleep(3)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class TestRaces:
    """A fill racing a cancel ends FILLED, with one terminal answer."""

    async def test_cancel_after_fill_reports_filled(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with engine(poll_interval_s=3600) as (sim, ex):
            price = await below_market(ex, ticks=5)
            order = await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
            sim.set_price("BTCUSDT", price - 100)
            await trio.sleep(1)  # the exchange fills it; the engine has not looked yet
            final = await ex.cancel_order("BTCUSDT", order.client_order_id)
            assert final.status is OrderStatus.FILLED
            assert final.executed_qty == Decimal("0.002")


class TestRateLimits:
    """The limiter keeps a burst inside the exchange's windows: zero 429s."""

    async def test_burst_beyond_the_orders_window_gets_no_429(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        limits = (
            RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=2400),
            RateLimit(kind="ORDERS", interval="SECOND", interval_num=10, limit=20),
            RateLimit(kind="ORDERS", interval="MINUTE", interval_num=1, limit=1200),
        )
        async with engine(
            attrs.evolve(default_config(seed=1), rate_limits=limits), order_deadline_s=120
        ) as (sim, ex):
            price = await below_market(ex)
            async with trio.open_nursery() as nursery:
                for i in range(60):
                    nursery.start_soon(
                        partial(ex.place_order, strategy=f"s{i % 5}"),
                        OrderRequest.limit("BTCUSDT", "BUY", "0.002", price, time_in_force="IOC"),
                    )
            statuses = sim.stats()["responses_by_status"]
            assert isinstance(statuses, dict)
            assert statuses.get("429", 0) == 0
            assert len(ledger_orders(sim)) == 60


class TestFacade:
    """The design notes' ExchangeClient works end to end against the sim."""

    async def test_every_call(self, autojump_clock: trio.testing.MockClock) -> None:
        async with (
            open_sim(default_config(seed=2)) as sim,
            ExchangeClient(
                "sim-key", "sim-secret", base_url=sim.base_url, transport=sim.transport
            ) as ec,
        ):
            info = await ec.get_exchange_info()
            assert "BTCUSDT" in {s.value for s in info.symbols}
            assert (await ec.health_check()).ok
            assert await ec.get_server_time() > 0
            assert len(await ec.get_klines("BTCUSDT", "1m", limit=10)) == 10
            ticker = await ec.get_ticker("BTCUSDT")
            book = await ec.get_order_book("BTCUSDT", limit=5)
            assert book.bids[0].price < book.asks[0].price
            assert ticker.price > 0
            assert await ec.change_leverage("BTCUSDT", 10) == 10
            await ec.change_margin_type("BTCUSDT", "ISOLATED")
            await ec.change_margin_type("BTCUSDT", "ISOLATED")  # -4046 counts as success
            usdt = [b for b in await ec.get_balance() if b.asset == "USDT"]
            assert usdt[0].balance > 0
            assert (await ec.get_account_info()).total_wallet_balance > 0
            filled = await ec.create_market_order("BTCUSDT", "BUY", "0.002")
            assert filled.status is OrderStatus.FILLED
            positions = await ec.get_position_risk("BTCUSDT")
            assert any(p.amount == Decimal("0.002") for p in positions)
            bid = book.bids[0].price - 500
            resting = await ec.create_limit_order("BTCUSDT", "BUY", "0.002", bid)
            assert (
                await ec.get_order("BTCUSDT", client_order_id=resting.client_order_id.value)
            ).status is OrderStatus.NEW
            assert len(await ec.get_open_orders("BTCUSDT")) == 1
            stop = await ec.create_stop_market_order("BTCUSDT", "SELL", "0.002", bid - 1000)
            assert stop.status is OrderStatus.NEW
            take = await ec.create_take_profit_market_order(
                "BTCUSDT", "SELL", "0.002", ticker.price + 5000
            )
            assert take.status is OrderStatus.NEW
            canceled = await ec.cancel_all_orders("BTCUSDT")
            assert [o.status for o in canceled] == [OrderStatus.CANCELED]
            assert await ec.get_open_orders("BTCUSDT") == []
            assert len(await ec.get_all_orders("BTCUSDT")) >= 2
            with pytest.raises(ExchangeRejected):
                await ec.create_market_order("BTCUSDT", "BUY", "100")  # -2019 margin
            with pytest.raises(InvalidCombination):
                await ec.change_leverage("BTCUSDT", 500)


class TestSecrets:
    """The secret and the full key never reach logs, reprs or errors."""

    async def test_nothing_leaks(
        self, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        sim_config = attrs.evolve(
            default_config(seed=1), api_key="KEY-abcdefghijklmnop", api_secret="SECRET-qrstuvwxyz"
        )
        texts: list[str] = []
        async with (
            open_sim(sim_config) as sim,
            open_executor(config_for(sim), transport=_ApplyThen503(sim.transport)) as ex,
        ):
            texts.append(repr(ex.config))
            price = await below_market(ex)
            order = await ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", price))
            texts.append(repr(order))
            try:
                await ex.place_order(OrderRequest.market("BTCUSDT", "BUY", "100"))
            except Exception as exc:
                texts.extend([str(exc), repr(exc)])
            texts.append(repr(ex.statistics()))
        texts.extend(record.getMessage() for record in caplog.records)
        blob = "\n".join(texts)
        assert "SECRET-qrstuvwxyz" not in blob
        assert "KEY-abcdefghijklmnop" not in blob
        assert not re.search(r"signature=[0-9a-fA-F]{16}", blob)
        assert "signature=***" in blob  # httpx's request lines were seen, and redacted
