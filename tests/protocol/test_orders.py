"""OrderRequest: only valid input builds one, and it serialises fixed-point (faults.md 54-61)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_fapi.protocol.enums import (
    OrderSide,
    OrderType,
    PositionSide,
    ResponseType,
    TimeInForce,
    WorkingType,
)
from trio_fapi.protocol.errors import (
    InvalidClientOrderId,
    InvalidCombination,
    InvalidNumber,
    InvalidOrder,
    UnknownSymbol,
)
from trio_fapi.protocol.ids import ClientOrderId, Symbol
from trio_fapi.protocol.numbers import WIRE_NUMBER
from trio_fapi.protocol.orders import OrderRequest

QTY = Decimal("0.010")
PRICE = Decimal("61250.10")
TRIGGER = Decimal("60000.0")
GTD_MS = 1_900_000_000_000


def order(**fields: Any) -> OrderRequest:
    """An OrderRequest with a valid LIMIT baseline, overridden by ``fields``."""
    base: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "side": OrderSide.BUY,
        "order_type": OrderType.LIMIT,
        "quantity": QTY,
        "price": PRICE,
        "time_in_force": TimeInForce.GTC,
    }
    base.update(fields)
    return OrderRequest(**base)


def market(**fields: Any) -> OrderRequest:
    """A MARKET baseline (no price, no timeInForce)."""
    return order(**{"order_type": OrderType.MARKET, "price": None, "time_in_force": None, **fields})


def stop_market(**fields: Any) -> OrderRequest:
    """A STOP_MARKET baseline (trigger, no price, no timeInForce)."""
    base = {
        "order_type": OrderType.STOP_MARKET,
        "price": None,
        "time_in_force": None,
        "trigger_price": TRIGGER,
    }
    return order(**{**base, **fields})


BAD_NUMBERS = [
    pytest.param(Decimal(0), id="zero"),
    pytest.param(0, id="int-zero"),
    pytest.param("0.000", id="str-zero"),
    pytest.param(Decimal("-0.001"), id="negative"),
    pytest.param(-1, id="int-negative"),
    pytest.param("-1", id="str-negative"),
    pytest.param(Decimal("NaN"), id="decimal-nan"),
    pytest.param(Decimal("sNaN"), id="decimal-snan"),
    pytest.param(Decimal("Infinity"), id="decimal-inf"),
    pytest.param(Decimal("-Infinity"), id="decimal-minus-inf"),
    pytest.param(float("nan"), id="float-nan"),
    pytest.param(float("inf"), id="float-inf"),
    pytest.param(0.01, id="float"),
    pytest.param(True, id="bool"),
    pytest.param(" 0.01", id="leading-space"),
    pytest.param("0.01 ", id="trailing-space"),
    pytest.param("0.01\n", id="trailing-newline"),
    pytest.param("0 .01", id="inner-space"),
    pytest.param("1e-2", id="exponent"),
    pytest.param("NaN", id="str-nan"),
    pytest.param("inf", id="str-inf"),
]


class TestBadNumbersAreRefused:
    """Every number field refuses bad numbers with InvalidNumber (rows 54, 55, 56)."""

    @pytest.mark.parametrize("value", BAD_NUMBERS)
    def test_quantity(self, value: object) -> None:
        with pytest.raises(InvalidNumber):
            order(quantity=value)

    @pytest.mark.parametrize("value", BAD_NUMBERS)
    def test_price(self, value: object) -> None:
        with pytest.raises(InvalidNumber):
            order(price=value)

    @pytest.mark.parametrize("value", BAD_NUMBERS)
    def test_trigger_price(self, value: object) -> None:
        with pytest.raises(InvalidNumber):
            stop_market(trigger_price=value)

    @pytest.mark.parametrize("value", BAD_NUMBERS)
    def test_callback_rate(self, value: object) -> None:
        with pytest.raises(InvalidNumber):
            stop_market(
                order_type=OrderType.TRAILING_STOP_MARKET, trigger_price=None, callback_rate=value
            )

    def test_named_constructors_check_too(self) -> None:
        with pytest.raises(InvalidNumber):
            OrderRequest.limit("BTCUSDT", "BUY", 0.01, "61250.10")
        with pytest.raises(InvalidNumber):
            OrderRequest.market("BTCUSDT", "SELL", Decimal("NaN"))
        with pytest.raises(InvalidNumber):
            OrderRequest.stop_market("BTCUSDT", "SELL", float("inf"), "0.01")

    @pytest.mark.parametrize("field", ["quantity", "price"])
    def test_none_is_refused_where_required(self, field: str) -> None:
        with pytest.raises(InvalidOrder) as info:
            order(**{field: None})
        assert type(info.value) is not InvalidOrder


class TestIdentifiersAreChecked:
    """Symbols, enum values and client ids are refused unless exactly legal (rows 57, 59)."""

    @pytest.mark.parametrize("symbol", ["btcusdt", "BTC/USDT", "BTC-USDT", "", " BTCUSDT", None])
    def test_bad_symbol(self, symbol: object) -> None:
        with pytest.raises(UnknownSymbol):
            order(symbol=symbol)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("side", "buy"),
            ("side", "LONG"),
            ("order_type", "limit"),
            ("time_in_force", "gtc"),
            ("position_side", "HEDGE"),
            ("working_type", "LAST_PRICE"),
            ("response_type", "FULL"),
        ],
    )
    def test_bad_enum_value(self, field: str, value: str) -> None:
        with pytest.raises(InvalidCombination):
            order(**{field: value})

    @pytest.mark.parametrize(
        "client_id",
        [
            pytest.param("has space", id="space"),
            pytest.param("id#1", id="hash"),
            pytest.param("id@1", id="at"),
            pytest.param("naïve", id="unicode"),
            pytest.param("x" * 37, id="37-chars"),
            pytest.param("", id="empty"),
            pytest.param("abc\n", id="trailing-newline"),
            pytest.param(12345, id="int"),
        ],
    )
    def test_bad_client_order_id(self, client_id: object) -> None:
        with pytest.raises(InvalidClientOrderId):
            order(client_order_id=client_id)

    @pytest.mark.parametrize("client_id", ["x" * 36, ".:/_-azAZ09", "a"])
    def test_legal_client_order_id(self, client_id: str) -> None:
        assert order(client_order_id=client_id).client_order_id == ClientOrderId(client_id)

    def test_with_client_order_id_keeps_everything_else(self) -> None:
        req = order()
        tagged = req.with_client_order_id(ClientOrderId("abc"))
        assert tagged.client_order_id == ClientOrderId("abc")
        assert tagged.to_params() == {**req.to_params(), "newClientOrderId": "abc"}


ILLEGAL_COMBINATIONS = [
    pytest.param(lambda: market(time_in_force=TimeInForce.GTC), id="tif-on-market"),
    pytest.param(lambda: market(price=PRICE), id="price-on-market"),
    pytest.param(lambda: order(price=None), id="limit-without-price"),
    pytest.param(lambda: order(time_in_force=None), id="limit-without-tif"),
    pytest.param(lambda: order(quantity=None), id="limit-without-quantity"),
    pytest.param(lambda: order(time_in_force=TimeInForce.GTD), id="gtd-without-date"),
    pytest.param(lambda: order(good_till_date=GTD_MS), id="date-without-gtd"),
    pytest.param(
        lambda: order(time_in_force=TimeInForce.GTD, good_till_date=1.9e12), id="gtd-date-float"
    ),
    pytest.param(
        lambda: order(time_in_force=TimeInForce.GTD, good_till_date=True), id="gtd-date-bool"
    ),
    pytest.param(
        lambda: market(reduce_only=True, position_side=PositionSide.LONG), id="reduce-only-long"
    ),
    pytest.param(
        lambda: market(reduce_only=True, position_side=PositionSide.SHORT), id="reduce-only-short"
    ),
    pytest.param(lambda: market(reduce_only="true"), id="reduce-only-not-bool"),
    pytest.param(lambda: stop_market(close_position=True), id="close-position-with-quantity"),
    pytest.param(
        lambda: stop_market(quantity=None, close_position=True, reduce_only=True),
        id="close-position-with-reduce-only",
    ),
    pytest.param(lambda: market(quantity=None, close_position=True), id="close-position-on-market"),
    pytest.param(
        lambda: stop_market(
            quantity=None,
            close_position=True,
            side=OrderSide.BUY,
            position_side=PositionSide.LONG,
        ),
        id="close-position-opens-long",
    ),
    pytest.param(lambda: stop_market(quantity=None), id="stop-market-without-quantity"),
    pytest.param(lambda: stop_market(trigger_price=None), id="stop-market-without-trigger"),
    pytest.param(
        lambda: stop_market(order_type=OrderType.TAKE_PROFIT_MARKET, trigger_price=None),
        id="take-profit-market-without-trigger",
    ),
    pytest.param(
        lambda: order(order_type=OrderType.STOP, trigger_price=None), id="stop-without-trigger"
    ),
    pytest.param(
        lambda: order(order_type=OrderType.TAKE_PROFIT, trigger_price=None),
        id="take-profit-without-trigger",
    ),
    pytest.param(
        lambda: stop_market(order_type=OrderType.TRAILING_STOP_MARKET, trigger_price=None),
        id="trailing-without-callback-rate",
    ),
    pytest.param(
        lambda: stop_market(
            order_type=OrderType.TRAILING_STOP_MARKET,
            trigger_price=None,
            callback_rate=Decimal(25),
        ),
        id="callback-rate-above-20",
    ),
    pytest.param(lambda: stop_market(price=PRICE), id="price-on-stop-market"),
    pytest.param(lambda: order(trigger_price=TRIGGER), id="trigger-on-limit"),
    pytest.param(lambda: market(trigger_price=TRIGGER), id="trigger-on-market"),
    pytest.param(lambda: order(callback_rate=Decimal(1)), id="callback-rate-on-limit"),
    pytest.param(lambda: market(price_protect=True), id="price-protect-on-market"),
    pytest.param(
        lambda: market(order_type=OrderType.LIQUIDATION), id="liquidation-is-exchange-only"
    ),
]


class TestIllegalCombinationsAreRefused:
    """Parameter combinations Binance refuses raise InvalidCombination before any I/O (row 60)."""

    @pytest.mark.parametrize("build", ILLEGAL_COMBINATIONS)
    def test_refused(self, build: Any) -> None:
        with pytest.raises(InvalidCombination) as info:
            build()
        assert isinstance(info.value, InvalidOrder)
        assert str(info.value)

    @pytest.mark.parametrize(
        "build",
        [
            pytest.param(lambda: order(), id="limit"),
            pytest.param(
                lambda: order(time_in_force=TimeInForce.GTD, good_till_date=GTD_MS), id="gtd"
            ),
            pytest.param(lambda: market(reduce_only=True), id="market-reduce-only"),
            pytest.param(lambda: market(position_side=PositionSide.LONG), id="market-hedge"),
            pytest.param(
                lambda: stop_market(quantity=None, close_position=True, side=OrderSide.SELL),
                id="close-position",
            ),
            pytest.param(
                lambda: order(order_type=OrderType.STOP, trigger_price=TRIGGER), id="stop-limit"
            ),
            pytest.param(
                lambda: stop_market(
                    order_type=OrderType.TRAILING_STOP_MARKET,
                    trigger_price=None,
                    callback_rate=Decimal("0.1"),
                ),
                id="trailing",
            ),
        ],
    )
    def test_legal_combinations_build(self, build: Any) -> None:
        assert isinstance(build(), OrderRequest)


class TestToParams:
    """to_params gives the exact wire parameters: classic for LIMIT/MARKET, algo otherwise."""

    def test_limit(self) -> None:
        req = OrderRequest.limit(
            "BTCUSDT", "BUY", "0.010", "61250.10", client_order_id="trio-7f3a-0001"
        )
        assert req.to_params() == {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.010",
            "price": "61250.10",
            "newClientOrderId": "trio-7f3a-0001",
            "newOrderRespType": "RESULT",
        }
        assert not req.is_algo

    def test_limit_gtd_post_only_options(self) -> None:
        req = OrderRequest.limit(
            Symbol("BTCUSDT"),
            OrderSide.SELL,
            Decimal("0.0000001"),
            Decimal("1E+5"),
            time_in_force=TimeInForce.GTD,
            good_till_date=GTD_MS,
            response_type=ResponseType.ACK,
        )
        params = req.to_params()
        assert params["quantity"] == "0.0000001"
        assert params["price"] == "100000"
        assert params["timeInForce"] == "GTD"
        assert params["goodTillDate"] == str(GTD_MS)
        assert params["newOrderRespType"] == "ACK"

    def test_market(self) -> None:
        req = OrderRequest.market("BTCUSDT", "SELL", "0.001", reduce_only=True)
        assert req.to_params() == {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "MARKET",
            "quantity": "0.001",
            "reduceOnly": "true",
            "newOrderRespType": "RESULT",
        }

    def test_hedge_mode_sends_position_side(self) -> None:
        req = OrderRequest.market("BTCUSDT", "SELL", "0.001", position_side="SHORT")
        assert req.to_params()["positionSide"] == "SHORT"
        assert "reduceOnly" not in req.to_params()

    def test_stop_market(self) -> None:
        req = OrderRequest.stop_market(
            "BTCUSDT", "SELL", "60000.0", "0.010", client_order_id="sl.1"
        )
        assert req.is_algo
        assert req.to_params() == {
            "algoType": "CONDITIONAL",
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "STOP_MARKET",
            "quantity": "0.010",
            "triggerPrice": "60000.0",
            "workingType": "CONTRACT_PRICE",
            "clientAlgoId": "sl.1",
        }

    def test_stop_market_close_position(self) -> None:
        params = OrderRequest.stop_market(
            "BTCUSDT", "SELL", "60000.0", close_position=True
        ).to_params()
        assert params["closePosition"] == "true"
        assert "quantity" not in params
        assert "reduceOnly" not in params

    def test_take_profit_market(self) -> None:
        req = OrderRequest.take_profit_market(
            "BTCUSDT",
            "BUY",
            "58000.5",
            "0.002",
            working_type=WorkingType.MARK_PRICE,
            price_protect=True,
            reduce_only=True,
            client_order_id="tp:2/x_y-z",
        )
        assert req.to_params() == {
            "algoType": "CONDITIONAL",
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "TAKE_PROFIT_MARKET",
            "quantity": "0.002",
            "triggerPrice": "58000.5",
            "workingType": "MARK_PRICE",
            "priceProtect": "true",
            "reduceOnly": "true",
            "clientAlgoId": "tp:2/x_y-z",
        }

    @pytest.mark.parametrize(
        "req",
        [
            pytest.param(OrderRequest.stop_market("BTCUSDT", "SELL", "1", "1"), id="stop_market"),
            pytest.param(
                OrderRequest.take_profit_market("BTCUSDT", "SELL", "1", "1"), id="take_profit"
            ),
        ],
    )
    def test_algo_params_never_carry_classic_keys(self, req: OrderRequest) -> None:
        params = req.with_client_order_id(ClientOrderId("c1")).to_params()
        assert params["algoType"] == "CONDITIONAL"
        assert params["clientAlgoId"] == "c1"
        assert "newOrderRespType" not in params
        assert "newClientOrderId" not in params
        assert "stopPrice" not in params


positive_decimals = st.one_of(
    st.decimals(
        min_value=Decimal("1E-12"), max_value=Decimal("1E+9"), allow_nan=False, allow_infinity=False
    ),
    st.builds(
        lambda digits, exponent: Decimal((0, digits, exponent)),
        st.lists(st.integers(0, 9), min_size=1, max_size=12).filter(lambda ds: any(ds)).map(tuple),
        st.integers(-20, 8),
    ),
)


@st.composite
def valid_requests(draw: st.DrawFn) -> OrderRequest:
    """Any valid LIMIT, MARKET, STOP_MARKET or TAKE_PROFIT_MARKET request."""
    side = draw(st.sampled_from(OrderSide))
    qty = draw(positive_decimals)
    kind = draw(st.sampled_from(["limit", "market", "stop_market", "take_profit_market"]))
    if kind == "limit":
        tif = draw(st.sampled_from([t for t in TimeInForce if t is not TimeInForce.GTD]))
        return OrderRequest.limit("BTCUSDT", side, qty, draw(positive_decimals), time_in_force=tif)
    if kind == "market":
        return OrderRequest.market("BTCUSDT", side, qty, reduce_only=draw(st.booleans()))
    build = OrderRequest.stop_market if kind == "stop_market" else OrderRequest.take_profit_market
    if draw(st.booleans()):
        return build("BTCUSDT", side, draw(positive_decimals), close_position=True)
    return build("BTCUSDT", side, draw(positive_decimals), qty)


class TestSerialisedNumbersAreFixedPoint:
    """Every number a valid request sends is plain fixed-point and exactly the input (row 61)."""

    @given(valid_requests())
    def test_every_number_matches_the_wire_pattern(self, req: OrderRequest) -> None:
        params = req.to_params()
        numeric = {
            "quantity": req.quantity,
            "price": req.price,
            "triggerPrice": req.trigger_price,
            "callbackRate": req.callback_rate,
            "activatePrice": req.activation_price,
        }
        for key, value in numeric.items():
            if value is None:
                assert key not in params
                continue
            text = params[key]
            assert WIRE_NUMBER.fullmatch(text), (key, text)
            assert not text.startswith("-")
            assert Decimal(text) == value
        assert all(isinstance(v, str) and v == v.strip() and v for v in params.values())
