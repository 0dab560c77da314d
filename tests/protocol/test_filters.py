"""Symbol filters from exchangeInfo: each violation carries Binance's code (faults.md 57, 58)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_fapi.protocol.enums import OrderSide, OrderType, TimeInForce
from trio_fapi.protocol.errors import FilterViolation, InvalidOrder, UnknownSymbol
from trio_fapi.protocol.filters import (
    DEFAULT_RATE_LIMITS,
    ExchangeInfo,
    LotSize,
    PercentPrice,
    PriceFilter,
    RateLimit,
    SymbolRules,
)
from trio_fapi.protocol.ids import Symbol
from trio_fapi.protocol.orders import OrderRequest

#: binance-fapi.md section 7.4, verbatim.
BTCUSDT_ENTRY: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "pair": "BTCUSDT",
    "contractType": "PERPETUAL",
    "deliveryDate": 4133404800000,
    "onboardDate": 1569398400000,
    "status": "TRADING",
    "maintMarginPercent": "2.5000",
    "requiredMarginPercent": "5.0000",
    "baseAsset": "BTC",
    "quoteAsset": "USDT",
    "marginAsset": "USDT",
    "pricePrecision": 2,
    "quantityPrecision": 3,
    "baseAssetPrecision": 8,
    "quotePrecision": 8,
    "underlyingType": "COIN",
    "underlyingSubType": ["PoW"],
    "settlePlan": 0,
    "triggerProtect": "0.0500",
    "liquidationFee": "0.012500",
    "marketTakeBound": "0.05",
    "maxMoveOrderLimit": 10000,
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "556.80",
            "maxPrice": "4529764",
            "tickSize": "0.10",
        },
        {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
        {"filterType": "MARKET_LOT_SIZE", "minQty": "0.001", "maxQty": "120", "stepSize": "0.001"},
        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
        {"filterType": "MIN_NOTIONAL", "notional": "100"},
        {
            "filterType": "PERCENT_PRICE",
            "multiplierUp": "1.0500",
            "multiplierDown": "0.9500",
            "multiplierDecimal": "4",
        },
    ],
    "orderTypes": [
        "LIMIT",
        "MARKET",
        "STOP",
        "STOP_MARKET",
        "TAKE_PROFIT",
        "TAKE_PROFIT_MARKET",
        "TRAILING_STOP_MARKET",
    ],
    "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
}
RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
]
INFO = ExchangeInfo.from_wire(
    {"timezone": "UTC", "rateLimits": RATE_LIMITS, "symbols": [BTCUSDT_ENTRY]}
)
RULES = INFO.rules("BTCUSDT")
MARK = Decimal(61250)


def limit(side: str = "BUY", qty: str = "0.010", price: str = "61250.0", **kw: Any) -> OrderRequest:
    return OrderRequest.limit("BTCUSDT", side, qty, price, **kw)


def violation(request: OrderRequest, mark: Decimal | None = MARK) -> FilterViolation:
    with pytest.raises(FilterViolation) as info:
        RULES.validate(request, mark_price=mark)
    assert isinstance(info.value, InvalidOrder)
    return info.value


class TestParsing:
    """ExchangeInfo.from_wire reads the filters, order types and rate limits of a live entry."""

    def test_btcusdt(self) -> None:
        assert RULES.symbol == Symbol("BTCUSDT")
        assert RULES.status == "TRADING"
        assert (RULES.base_asset, RULES.quote_asset, RULES.margin_asset) == ("BTC", "USDT", "USDT")
        assert RULES.price_filter == PriceFilter(
            min_price=Decimal("556.80"), max_price=Decimal(4529764), tick_size=Decimal("0.10")
        )
        assert RULES.lot_size == LotSize(
            min_qty=Decimal("0.001"), max_qty=Decimal(1000), step_size=Decimal("0.001")
        )
        assert RULES.market_lot_size.max_qty == Decimal(120)
        assert RULES.min_notional == Decimal(100)
        assert RULES.percent_price == PercentPrice(
            multiplier_up=Decimal("1.05"), multiplier_down=Decimal("0.95")
        )
        assert RULES.max_num_orders == 200
        assert OrderType.LIQUIDATION not in RULES.order_types
        assert TimeInForce.RPI not in RULES.time_in_force

    def test_rate_limits(self) -> None:
        assert set(INFO.rate_limits) == {
            RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=2400),
            RateLimit(kind="ORDERS", interval="MINUTE", interval_num=1, limit=1200),
            RateLimit(kind="ORDERS", interval="SECOND", interval_num=10, limit=300),
        }
        assert {r.window_s for r in INFO.rate_limits} == {60.0, 10.0}

    def test_defaults_without_rate_limits(self) -> None:
        assert ExchangeInfo.from_wire({"symbols": []}).rate_limits == DEFAULT_RATE_LIMITS

    def test_survives_a_json_round_trip(self) -> None:
        assert (
            ExchangeInfo.from_wire(json.loads(json.dumps({"symbols": [BTCUSDT_ENTRY]}))).rules(
                "BTCUSDT"
            )
            == RULES
        )


class TestUnknownSymbol:
    """Unlisted, wrongly cased or non-TRADING symbols raise UnknownSymbol (row 57)."""

    @pytest.mark.parametrize("symbol", ["ETHUSDT", Symbol("ETHUSDT"), "btcusdt", "BTC/USDT", ""])
    def test_not_listed(self, symbol: str | Symbol) -> None:
        with pytest.raises(UnknownSymbol):
            INFO.rules(symbol)

    @pytest.mark.parametrize("status", ["SETTLING", "PENDING_TRADING", "CLOSE", "DELIVERING"])
    def test_not_trading(self, status: str) -> None:
        entry = copy.deepcopy(BTCUSDT_ENTRY)
        entry["status"] = status
        rules = ExchangeInfo.from_wire({"symbols": [entry]}).rules(Symbol("BTCUSDT"))
        with pytest.raises(UnknownSymbol, match=status):
            rules.validate(limit(), mark_price=MARK)


class TestViolations:
    """validate() refuses each filter breach with the code the exchange would send (row 58)."""

    @pytest.mark.parametrize(
        ("request_", "filter_", "code"),
        [
            pytest.param(limit(price="500.0"), "PRICE_FILTER", -4013, id="price-below-min"),
            pytest.param(limit(price="5000000"), "PRICE_FILTER", -4002, id="price-above-max"),
            pytest.param(limit(price="61250.05"), "PRICE_FILTER", -4014, id="price-off-tick"),
            pytest.param(
                OrderRequest.stop_market("BTCUSDT", "SELL", "60000.01", "0.010"),
                "PRICE_FILTER",
                -4014,
                id="trigger-off-tick",
            ),
            pytest.param(limit(qty="0.0009"), "LOT_SIZE", -4004, id="qty-below-min"),
            pytest.param(limit(qty="1000.001"), "LOT_SIZE", -4005, id="qty-above-max"),
            pytest.param(limit(qty="0.0105"), "LOT_SIZE", -4023, id="qty-off-step"),
            pytest.param(limit(qty="0.001"), "MIN_NOTIONAL", -4164, id="notional-below-min"),
            pytest.param(
                OrderRequest.market("BTCUSDT", "BUY", "0.001"),
                "MIN_NOTIONAL",
                -4164,
                id="market-notional-at-mark",
            ),
            pytest.param(
                limit(side="BUY", price="64400.0"), "PERCENT_PRICE", -4016, id="buy-above-band"
            ),
            pytest.param(
                limit(side="SELL", price="58000.0"), "PERCENT_PRICE", -4024, id="sell-below-band"
            ),
            pytest.param(
                OrderRequest.market("BTCUSDT", "BUY", "120.001"),
                "MARKET_LOT_SIZE",
                -4005,
                id="market-above-market-max",
            ),
            pytest.param(
                OrderRequest.market("BTCUSDT", "BUY", "0.0001"),
                "MARKET_LOT_SIZE",
                -4004,
                id="market-below-market-min",
            ),
            pytest.param(
                limit(time_in_force=TimeInForce.RPI), "timeInForce", -1115, id="tif-not-listed"
            ),
        ],
    )
    def test_code(self, request_: OrderRequest, filter_: str, code: int) -> None:
        error = violation(request_)
        assert (error.filter, error.code) == (filter_, code)
        assert str(code) in str(error)

    def test_reduce_only_is_exempt_from_min_notional(self) -> None:
        RULES.validate(limit(side="SELL", qty="0.001", reduce_only=True), mark_price=MARK)
        RULES.validate(
            OrderRequest.market("BTCUSDT", "SELL", "0.001", reduce_only=True), mark_price=MARK
        )

    def test_market_orders_use_market_lot_size_only(self) -> None:
        # 500 is inside LOT_SIZE (max 1000) but outside MARKET_LOT_SIZE (max 120).
        RULES.validate(limit(qty="500"), mark_price=MARK)
        assert violation(OrderRequest.market("BTCUSDT", "BUY", "500")).filter == "MARKET_LOT_SIZE"

    def test_band_is_one_sided(self) -> None:
        # A SELL above mark x 1.05 and a BUY below mark x 0.95 are passive, not refused.
        RULES.validate(limit(side="SELL", price="64400.0"), mark_price=MARK)
        RULES.validate(limit(side="BUY", price="58000.0"), mark_price=MARK)

    def test_checks_needing_the_mark_are_left_to_the_exchange_without_it(self) -> None:
        RULES.validate(OrderRequest.market("BTCUSDT", "BUY", "0.001"), mark_price=None)
        RULES.validate(limit(side="BUY", price="64400.0"), mark_price=None)

    @pytest.mark.parametrize(
        "request_",
        [
            pytest.param(limit(), id="limit"),
            pytest.param(limit(price="556.80", qty="1"), id="limit-at-min-price"),
            pytest.param(limit(side="SELL", price="4529764", qty="0.001"), id="limit-at-max-price"),
            pytest.param(OrderRequest.market("BTCUSDT", "SELL", "120"), id="market-at-max"),
            pytest.param(
                OrderRequest.stop_market("BTCUSDT", "SELL", "60000.1", close_position=True),
                id="close-position",
            ),
        ],
    )
    def test_valid_orders_pass(self, request_: OrderRequest) -> None:
        RULES.validate(request_, mark_price=MARK)


tick_sizes = st.sampled_from(["0.10", "0.01", "0.5", "0.25", "1", "5", "0.0001"]).map(Decimal)
step_sizes = st.sampled_from(["0.001", "0.01", "0.1", "1", "0.5", "0.00001"]).map(Decimal)


@st.composite
def rules_with_grids(draw: st.DrawFn) -> SymbolRules:
    """BTCUSDT's rules with another tick, step and grid origin."""
    tick = draw(tick_sizes)
    step = draw(step_sizes)
    min_price = draw(st.decimals(min_value=0, max_value=1000, places=2))
    # The grid starts at minPrice/minQty, which need not be on the step themselves.
    min_qty = draw(st.decimals(min_value=Decimal("0.00001"), max_value=10, places=5))
    return attrs.evolve(
        RULES,
        price_filter=PriceFilter(min_price=min_price, max_price=Decimal(10**7), tick_size=tick),
        lot_size=LotSize(min_qty=min_qty, max_qty=Decimal(10**6), step_size=step),
        market_lot_size=LotSize(min_qty=min_qty, max_qty=Decimal(10**6), step_size=step * 10),
    )


prices = st.decimals(min_value=1000, max_value=5_000_000, places=6)
#: How far above minQty a quantity lies.
excess_quantities = st.decimals(min_value=0, max_value=Decimal(100_000), places=8)


class TestRounding:
    """round_price/round_quantity land on the grid, never add quantity, and stay passive."""

    @given(rules=rules_with_grids(), price=prices, side=st.sampled_from(OrderSide))
    def test_price_on_grid_and_passive(
        self, rules: SymbolRules, price: Decimal, side: OrderSide
    ) -> None:
        rounded = rules.round_price(price, side)
        tick = rules.price_filter.tick_size
        rules.check_price(rounded)  # on the grid and in bounds: no FilterViolation
        if side is OrderSide.BUY:
            assert price - tick < rounded <= price
        else:
            assert price <= rounded < price + tick

    @given(rules=rules_with_grids(), excess=excess_quantities, market=st.booleans())
    def test_quantity_on_grid_and_never_more(
        self, rules: SymbolRules, excess: Decimal, market: bool
    ) -> None:
        lot = rules.market_lot_size if market else rules.lot_size
        qty = lot.min_qty + excess
        rounded = rules.round_quantity(qty, market=market)
        assert qty - lot.step_size < rounded <= qty
        rules.check_quantity(rounded, market=market)

    @given(price=st.decimals(min_value=600, max_value=4_000_000, places=4))
    def test_btcusdt_prices_on_grid(self, price: Decimal) -> None:
        for side in OrderSide:
            rounded = RULES.round_price(price, side)
            RULES.check_price(rounded)
            assert rounded == RULES.round_price(rounded, side)  # idempotent

    def test_examples(self) -> None:
        assert RULES.round_price(Decimal("61250.17"), OrderSide.BUY) == Decimal("61250.10")
        assert RULES.round_price(Decimal("61250.17"), OrderSide.SELL) == Decimal("61250.20")
        assert RULES.round_price(Decimal("61250.10"), OrderSide.SELL) == Decimal("61250.10")
        assert RULES.round_quantity(Decimal("0.0129")) == Decimal("0.012")
        assert str(RULES.round_quantity(Decimal(1))) == "1.000"

    def test_grid_starting_off_the_step(self) -> None:
        rules = attrs.evolve(
            RULES,
            price_filter=PriceFilter(
                min_price=Decimal("0.01"), max_price=Decimal(0), tick_size=Decimal("0.5")
            ),
            lot_size=LotSize(
                min_qty=Decimal("0.0015"), max_qty=Decimal(0), step_size=Decimal("0.001")
            ),
        )
        assert rules.round_price(Decimal(1000), OrderSide.BUY) == Decimal("999.51")
        assert rules.round_price(Decimal("1000.005"), OrderSide.SELL) == Decimal("1000.01")
        assert rules.round_quantity(Decimal("0.0036")) == Decimal("0.0035")


decimal_fields = st.decimals(min_value=0, max_value=10**6, places=5)


@st.composite
def any_rules(draw: st.DrawFn) -> SymbolRules:
    """Arbitrary (not necessarily sensible) symbol rules."""

    def lot() -> LotSize:
        return LotSize(
            min_qty=draw(decimal_fields),
            max_qty=draw(decimal_fields),
            step_size=draw(decimal_fields),
        )

    percent = draw(
        st.none()
        | st.builds(
            lambda u, d: PercentPrice(multiplier_up=u, multiplier_down=d),
            decimal_fields,
            decimal_fields,
        )
    )
    return SymbolRules(
        symbol=Symbol(draw(st.from_regex(r"[A-Z0-9]{2,12}", fullmatch=True))),
        status=draw(st.sampled_from(["TRADING", "SETTLING", "CLOSE"])),
        base_asset="BASE",
        quote_asset="USDT",
        margin_asset=draw(st.sampled_from(["USDT", "BNB"])),
        price_filter=PriceFilter(
            min_price=draw(decimal_fields),
            max_price=draw(decimal_fields),
            tick_size=draw(decimal_fields),
        ),
        lot_size=lot(),
        market_lot_size=lot(),
        min_notional=draw(decimal_fields),
        percent_price=percent,
        max_num_orders=draw(st.integers(1, 1000)),
        order_types=frozenset(
            draw(
                st.sets(
                    st.sampled_from(sorted(set(OrderType) - {OrderType.LIQUIDATION})), min_size=1
                )
            )
        ),
        time_in_force=frozenset(draw(st.sets(st.sampled_from(TimeInForce), min_size=1))),
    )


class TestWireRoundTrip:
    """SymbolRules.to_wire followed by from_wire (through JSON) gives the same rules."""

    def test_btcusdt(self) -> None:
        assert SymbolRules.from_wire(json.loads(json.dumps(RULES.to_wire()))) == RULES

    @given(any_rules())
    def test_any_rules(self, rules: SymbolRules) -> None:
        wire = json.loads(json.dumps(rules.to_wire()))
        assert SymbolRules.from_wire(wire) == rules
        assert ExchangeInfo.from_wire({"symbols": [wire]}).rules(rules.symbol) == rules
