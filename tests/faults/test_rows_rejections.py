"""Rows 22-31: definitive refusals by the exchange.

A refusal is the easy case for duplicates (nothing was executed) and the hard
case for liveness: the engine must tell a refusal worth one more try (clock
skew, a slow matching engine) from one that will fail forever (margin, bad
keys, an unknown symbol), and must not loop on the latter. One row is the
opposite of a refusal: -4116 means the order already exists, and the intent
must be adopted, never failed.
"""

from __future__ import annotations

import re
from decimal import Decimal

import attrs
import pytest
import trio
import trio.testing

from tests.scenarios.test_end_to_end import config_for
from trio_fapi import Credentials, InvalidOrder, OrderRequest, OrderStatus, open_executor
from trio_fapi.protocol.errors import ExchangeRejected, FilterViolation
from trio_fapi.sim import FaultPlan, open_sim

from .support import (
    BOUND_S,
    NEW_ORDER,
    ORDER_PATH,
    STILL,
    Answer,
    Mutate,
    Rule,
    assert_engine_matches_ledger,
    assert_resent_once,
    binance_error,
    errors_by_code,
    final_state,
    open_engine,
    place_failing,
    place_settled,
    record_events,
    resting_buy,
)

PENDING_NEW, NEW, REJECTED = OrderStatus.PENDING_NEW, OrderStatus.NEW, OrderStatus.REJECTED
ALGO_ORDER = ("POST", "/fapi/v1/algoOrder")
EXCHANGE_INFO = ("GET", "/fapi/v1/exchangeInfo")
#: Binance's numeric pattern: fixed point, no sign, no exponent.
WIRE_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def refuse_posts(code: int, msg: str, *, status: int = 400, times: int = 1) -> tuple[Rule, ...]:
    """The first ``times`` new orders are refused with ``code`` and never applied."""
    answer = Answer(status=status, body=binance_error(code, msg), apply=False)
    return (Rule(action=answer, method="POST", path=ORDER_PATH, times=times),)


class TestRow22ClockSkew:
    """The exchange's clock moved after the engine measured it."""

    @pytest.mark.parametrize("skew_ms", [8_000, -3_000], ids=["exchange-ahead", "exchange-behind"])
    async def test_resynced_and_resent_once(
        self, skew_ms: int, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 22: -1021 is not executed: re-measure, re-sign, resend once, same client id (I1)."""
        async with open_engine(plan=FaultPlan(skew_ms=skew_ms)) as rig:
            request = await resting_buy(rig.ex)
            # Exchange time never runs backwards: a clock set behind stands still
            # until it is behind for real, which takes |skew| of trio time.
            await trio.sleep(abs(skew_ms) / 1000 + 1)
            order = await place_settled(rig, request)
            assert order.status is NEW
            assert_engine_matches_ledger(rig.sim, order)
            # The heartbeat or the placement meets -1021 first; either way the
            # placement is resent at most once, under the same client id.
            sent = rig.tap.requests(*NEW_ORDER)
            assert 1 <= len(sent) <= 2
            assert {s.client_order_id for s in sent} == {order.client_order_id.value}
            assert abs(rig.ex.statistics().clock_offset_ms - skew_ms) < 1_000


class TestRow23MatchingEngineWindow:
    """-5028: the request reached the matching engine after its own recvWindow."""

    async def test_resent_once_and_placed_once(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 23: REJECTED (not executed), so resent with the same client id; one order (I1)."""
        rules = refuse_posts(-5028, "Timestamp for this request is outside of the ME recvWindow.")
        async with open_engine(rules=rules) as rig:
            order = await place_settled(rig, await resting_buy(rig.ex))
            assert_resent_once(rig, order)


class TestRow24Precision:
    """-1111 / -1100: numbers the exchange cannot read must never be sent."""

    @pytest.mark.parametrize(
        ("quantity", "price"),
        [("2E-3", "5.99950E+4"), ("0.0020", "59995.000"), ("2.000E-3", "59995")],
        ids=["exponents", "trailing-zeros", "mixed"],
    )
    async def test_numbers_go_out_fixed_point(
        self, quantity: str, price: str, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 24: Decimals in any notation reach the wire in fixed point; no -1111 / -1100."""
        async with open_engine() as rig:
            request = OrderRequest.limit("BTCUSDT", "BUY", Decimal(quantity), Decimal(price))
            order = await place_settled(rig, request)
            assert order.status is NEW
            (sent,) = rig.tap.requests(*NEW_ORDER)
            assert WIRE_NUMBER.match(sent.params["quantity"])
            assert WIRE_NUMBER.match(sent.params["price"])
            assert Decimal(sent.params["quantity"]) == Decimal(quantity)
            assert Decimal(sent.params["price"]) == Decimal(price)
            assert errors_by_code(rig.sim.stats()) == {}

    async def test_a_precision_refusal_is_final(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 24: if the exchange still says -1111, the order is REJECTED, not retried."""
        rules = refuse_posts(-1111, "Precision is over the maximum defined for this asset.")
        async with open_engine(rules=rules) as rig, record_events(rig.ex) as rec:
            refusal = await place_failing(rig, await resting_buy(rig.ex), ExchangeRejected)
            assert refusal.code == -1111
            (sent,) = rig.tap.requests(*NEW_ORDER)
            assert sent.client_order_id is not None
            assert rec.statuses(sent.client_order_id) == [PENDING_NEW, REJECTED]

    async def test_a_precision_refusal_refreshes_the_filters(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 24: -1111 means the cached filters may be stale: exchangeInfo is fetched again."""
        rules = refuse_posts(-1111, "Precision is over the maximum defined for this asset.")
        async with open_engine(rules=rules) as rig:
            request = await resting_buy(rig.ex)
            loads = rig.tap.count(*EXCHANGE_INFO)
            await place_failing(rig, request, ExchangeRejected)
            await trio.sleep(1)
            assert rig.tap.count(*EXCHANGE_INFO) == loads + 1


class TestRow25FiltersBeforeIO:
    """Filter violations are refused from the cached exchangeInfo, with zero I/O."""

    async def test_market_orders_use_the_market_lot_size(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 25: MARKET_LOT_SIZE (max 120) binds a MARKET order that LOT_SIZE (1000) allows."""
        async with open_engine() as rig:
            before = len(rig.tap.seen)
            with pytest.raises(FilterViolation):
                await rig.ex.place_order(OrderRequest.market("BTCUSDT", "BUY", "121"))
            assert len(rig.tap.seen) == before

    async def test_reduce_only_is_exempt_from_min_notional(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 25: a reduce-only order below the minimum notional is not refused locally."""
        async with open_engine() as rig:
            await rig.ex.place_order(OrderRequest.market("BTCUSDT", "BUY", "0.010"))
            book = await rig.ex.book_ticker("BTCUSDT")
            small = OrderRequest.limit(
                "BTCUSDT", "SELL", "0.001", book.ask_price + 100, reduce_only=True
            )
            order = await place_settled(rig, small)  # notional ~60 < 100
            assert order.status is NEW
            assert_engine_matches_ledger(rig.sim, order)

    async def test_percent_price_band_is_refused_locally(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 25: a BUY 10% above the mark breaks PERCENT_PRICE (x1.05): zero requests."""
        async with open_engine() as rig:
            book = await rig.ex.book_ticker("BTCUSDT")
            tick = rig.ex.rules("BTCUSDT").price_filter.tick_size
            too_high = (book.ask_price * Decimal("1.10") / tick).to_integral_value() * tick
            before = len(rig.tap.seen)
            with pytest.raises(InvalidOrder):
                await rig.ex.place_order(OrderRequest.limit("BTCUSDT", "BUY", "0.002", too_high))
            assert len(rig.tap.seen) == before


class TestRow26MarginInsufficient:
    async def test_rejected_at_once_with_the_code(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 26: -2019 is terminal: one attempt, REJECTED, the strategy sees the code."""
        async with open_engine() as rig, record_events(rig.ex) as rec:
            too_big = OrderRequest.market("BTCUSDT", "BUY", "100")
            refusal = await place_failing(rig, too_big, ExchangeRejected)
            assert refusal.code == -2019
            (sent,) = rig.tap.requests(*NEW_ORDER)
            assert sent.client_order_id is not None
            assert rec.statuses(sent.client_order_id) == [PENDING_NEW, REJECTED]
            assert rig.ledger_rows(sent.client_order_id) == []


class TestRow27ReduceOnlyRejected:
    async def test_rejected_at_once_when_there_is_nothing_to_reduce(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 27: -2022 (no position to reduce) is terminal: one attempt, no retry loop."""
        async with open_engine() as rig:
            close = OrderRequest.market("BTCUSDT", "SELL", "0.002", reduce_only=True)
            refusal = await place_failing(rig, close, ExchangeRejected)
            assert refusal.code == -2022
            assert rig.posts() == 1
            (sent,) = rig.tap.requests(*NEW_ORDER)
            assert sent.client_order_id is not None
            assert final_state(rig.ex, sent.client_order_id).status is REJECTED


class TestRow28TriggerAndRouting:
    async def test_would_immediately_trigger_is_final(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 28: -2021 for a stop already through the market: REJECTED after one attempt."""
        async with open_engine() as rig:
            book = await rig.ex.book_ticker("BTCUSDT")
            stop = OrderRequest.stop_market("BTCUSDT", "BUY", book.bid_price - 500, "0.002")
            refusal = await place_failing(rig, stop, ExchangeRejected)
            assert refusal.code == -2021
            assert rig.tap.count(*ALGO_ORDER) == 1
            assert rig.posts() == 0

    async def test_conditional_orders_never_use_the_classic_endpoint(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 28: STOP_MARKET goes to the Algo API, so -4120 cannot happen."""
        async with open_engine() as rig:
            book = await rig.ex.book_ticker("BTCUSDT")
            stop = OrderRequest.stop_market("BTCUSDT", "SELL", book.bid_price - 500, "0.002")
            order = await place_settled(rig, stop)
            assert order.status is NEW
            assert rig.tap.count(*ALGO_ORDER) == 1
            assert rig.posts() == 0
            assert "-4120" not in errors_by_code(rig.sim.stats())

    async def test_a_routing_refusal_is_never_retried(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 28: if the classic endpoint says -4120 anyway, the engine does not loop on it."""
        rules = refuse_posts(-4120, "Order type not supported for this endpoint.")
        async with open_engine(rules=rules) as rig:
            await place_failing(rig, await resting_buy(rig.ex), ExchangeRejected)
            assert rig.posts() == 1


class TestRow29DuplicateClientOrderId:
    async def test_the_existing_order_is_adopted(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 29: -4116 means an order with this id is open: adopt it, never fail (I1, I3).

        Another process placed ``shared-1`` first; this engine's placement with the
        same id meets -4116 and must report the order the exchange has.
        """
        async with open_engine() as rig, record_events(rig.ex) as rec:
            request = await resting_buy(rig.ex, client_order_id="shared-1")
            async with open_executor(config_for(rig.sim), transport=rig.sim.transport) as other:
                placed_elsewhere = await other.place_order(request)
            adopted = await place_settled(rig, request)
            assert adopted.status is NEW
            assert adopted.venue_order_id == placed_elsewhere.venue_order_id
            assert_engine_matches_ledger(rig.sim, adopted)
            assert errors_by_code(rig.sim.stats()) == {"-4116": 1}
            assert REJECTED not in rec.statuses("shared-1")


class TestRow30Credentials:
    @pytest.mark.parametrize(
        ("api_key", "api_secret", "code"),
        [("sim-key", "not-the-secret-0123", -1022), ("wrong-key-0123456789", "sim-secret", -2015)],
        ids=["bad-signature", "bad-key"],
    )
    async def test_start_up_stops_at_the_first_refusal(
        self, api_key: str, api_secret: str, code: int, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 30: bad credentials stop the engine before any strategy runs; no retry; redacted."""
        async with open_sim(STILL) as sim:
            config = attrs.evolve(
                config_for(sim), credentials=Credentials(api_key=api_key, api_secret=api_secret)
            )
            with trio.fail_after(BOUND_S), pytest.raises(ExchangeRejected) as caught:
                async with open_executor(config, transport=sim.transport):
                    pass
            assert caught.value.code == code
            assert sum(errors_by_code(sim.stats()).values()) == 1
            for text in (str(caught.value), repr(caught.value)):
                assert api_secret not in text
                assert api_key not in text

    async def test_a_revoked_key_refuses_the_order_once(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 30: -2015 mid-run is a definitive refusal: REJECTED, no retries."""
        rules = refuse_posts(-2015, "Invalid API-key, IP, or permissions for action.", status=401)
        async with open_engine(rules=rules) as rig:
            refusal = await place_failing(rig, await resting_buy(rig.ex), ExchangeRejected)
            assert refusal.code == -2015
            assert rig.posts() == 1

    async def test_a_revoked_key_halts_trading(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 30: after the key is refused, further orders are refused with zero I/O."""
        rules = refuse_posts(-2015, "Invalid API-key, IP, or permissions for action.", status=401)
        async with open_engine(rules=rules) as rig:
            first = await resting_buy(rig.ex)
            second = await resting_buy(rig.ex, ticks=60)
            with pytest.raises(ExchangeRejected):
                await rig.ex.place_order(first)
            with pytest.raises(ExchangeRejected):
                await rig.ex.place_order(second)
            assert rig.posts() == 1


class TestRow31SymbolNotTrading:
    async def test_an_exchange_refusal_is_final(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 31: -1121 from the exchange (the symbol went away since start-up): REJECTED once."""
        async with open_engine(rules=refuse_posts(-1121, "Invalid symbol.")) as rig:
            request = await resting_buy(rig.ex, symbol="ETHUSDT", qty="0.050")
            refusal = await place_failing(rig, request, ExchangeRejected)
            assert refusal.code == -1121
            assert rig.posts() == 1

    async def test_a_refusal_refreshes_the_symbol_table(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 31: after -1121, exchangeInfo is reloaded and the symbol is refused locally."""

        def eth_halted(payload: object) -> object:
            assert isinstance(payload, dict)
            symbols = [
                {**s, "status": "SETTLING"} if s.get("symbol") == "ETHUSDT" else s
                for s in payload["symbols"]
            ]
            return {**payload, "symbols": symbols}

        async with open_engine() as rig:
            first = await resting_buy(rig.ex, symbol="ETHUSDT", qty="0.050")
            second = await resting_buy(rig.ex, symbol="ETHUSDT", qty="0.050", ticks=60)
            rig.tap.script(
                *refuse_posts(-1121, "Invalid symbol.", times=1000),
                Rule(action=Mutate(edit=eth_halted), method="GET", path=EXCHANGE_INFO[1], times=99),
            )
            with pytest.raises(ExchangeRejected):
                await rig.ex.place_order(first)
            await trio.sleep(1)
            with pytest.raises(InvalidOrder):
                await rig.ex.place_order(second)
            assert rig.posts() == 1
