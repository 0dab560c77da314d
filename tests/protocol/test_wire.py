"""Wire parsing and the one mapping point for error answers (binance-fapi.md 5.1, 6.5)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_fapi.protocol.enums import OrderSide, OrderStatus, OrderType, PositionSide, TimeInForce
from trio_fapi.protocol.errors import (
    ExchangeError,
    ExchangeRejected,
    ExchangeUnavailable,
    IpBanned,
    RateLimited,
)
from trio_fapi.protocol.ids import ClientOrderId, Symbol, VenueOrderId
from trio_fapi.protocol.wire import MalformedResponse, Outcome, VenueOrder, classify, exchange_error

_ZERO = Decimal(0)
UNKNOWN_503 = "Unknown error, please check your request or try again later."
THROTTLED = (
    "Request throttled by system-level protection. "
    "Reduce-only/close-position orders are exempt. Please try again."
)
HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


class TestExchangeError:
    """exchange_error picks the most specific error; classify says whether it may have executed."""

    @pytest.mark.parametrize(
        ("status", "raw", "kind", "outcome"),
        [
            pytest.param(
                429,
                body(code=-1003, msg="Too many requests."),
                RateLimited,
                Outcome.REJECTED,
                id="429",
            ),
            pytest.param(
                418,
                body(code=-1003, msg="Way too many requests; IP banned."),
                IpBanned,
                Outcome.REJECTED,
                id="418",
            ),
            pytest.param(
                503,
                body(code=-1000, msg=UNKNOWN_503),
                ExchangeUnavailable,
                Outcome.UNKNOWN,
                id="503-unknown-with-code",
            ),
            pytest.param(
                503,
                body(code=-1003, msg=UNKNOWN_503),
                ExchangeUnavailable,
                Outcome.UNKNOWN,
                id="503-unknown-with-retry-code",
            ),
            pytest.param(
                503,
                body(timestamp=1763712000123, path="/fapi/v1/order", msg=UNKNOWN_503),
                ExchangeUnavailable,
                Outcome.UNKNOWN,
                id="503-unknown-without-code",
            ),
            pytest.param(
                503,
                body(msg="Service Unavailable."),
                ExchangeRejected,
                Outcome.REJECTED,
                id="503-service-unavailable",
            ),
            pytest.param(
                503,
                body(
                    code=-1001,
                    msg="Internal error; unable to process your request. Please try again.",
                ),
                ExchangeRejected,
                Outcome.REJECTED,
                id="503-internal-error",
            ),
            pytest.param(
                503,
                body(code=-1008, msg=THROTTLED),
                ExchangeRejected,
                Outcome.REJECTED,
                id="503-throttled",
            ),
            pytest.param(502, HTML_502, ExchangeUnavailable, Outcome.UNKNOWN, id="502-html"),
            pytest.param(500, b"", ExchangeUnavailable, Outcome.UNKNOWN, id="500-empty"),
            pytest.param(
                504, b"\xff\xfe\x00garbage", ExchangeUnavailable, Outcome.UNKNOWN, id="504-bytes"
            ),
            pytest.param(408, b"", ExchangeUnavailable, Outcome.UNKNOWN, id="408"),
            pytest.param(
                400,
                body(code=-2019, msg="Margin is insufficient."),
                ExchangeRejected,
                Outcome.REJECTED,
                id="400-margin",
            ),
            pytest.param(
                400,
                body(code=-1021, msg="Timestamp for this request is outside of the recvWindow."),
                ExchangeRejected,
                Outcome.REJECTED,
                id="400-timestamp",
            ),
            pytest.param(
                400,
                body(code=-1007, msg="Timeout waiting for response from backend server."),
                ExchangeUnavailable,
                Outcome.UNKNOWN,
                id="400-backend-timeout",
            ),
            pytest.param(
                401,
                body(code=-2015, msg="Invalid API-key, IP, or permissions for action."),
                ExchangeRejected,
                Outcome.REJECTED,
                id="401-key",
            ),
            pytest.param(403, b"Forbidden", ExchangeRejected, Outcome.REJECTED, id="403-waf"),
        ],
    )
    def test_mapping(
        self, status: int, raw: bytes, kind: type[ExchangeError], outcome: Outcome
    ) -> None:
        error = exchange_error(status, raw, path="/fapi/v1/order", retry_after=None)
        assert type(error) is kind
        assert error.http_status == status
        assert classify(error) is outcome
        assert "<" not in error.msg
        assert str(error).startswith(f"HTTP {status}")

    def test_code_and_message_are_kept(self) -> None:
        error = exchange_error(400, body(code=-2019, msg="Margin is insufficient."), path="/p")
        assert (error.code, error.msg, error.path) == (-2019, "Margin is insufficient.", "/p")
        assert "-2019" in str(error)

    def test_missing_code_stays_none(self) -> None:
        assert exchange_error(503, body(msg=UNKNOWN_503), path="/p").code is None

    @pytest.mark.parametrize(("status", "kind"), [(429, RateLimited), (418, IpBanned)])
    def test_retry_after_is_carried(self, status: int, kind: type[RateLimited | IpBanned]) -> None:
        error = exchange_error(status, b"", path="/fapi/v1/order", retry_after=120.0)
        assert isinstance(error, kind)
        assert error.retry_after == 120.0

    @given(
        status=st.integers(min_value=400, max_value=599),
        raw=st.one_of(
            st.binary(max_size=600),
            st.builds(
                lambda code, msg: json.dumps({"code": code, "msg": msg}).encode(),
                st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
                st.one_of(st.none(), st.text(max_size=400), st.integers()),
            ),
            st.builds(lambda v: json.dumps(v).encode(), st.lists(st.integers(), max_size=3)),
        ),
    )
    def test_never_crashes(self, status: int, raw: bytes) -> None:
        error = exchange_error(status, raw, path="/fapi/v1/order")
        assert isinstance(error, ExchangeError)
        assert len(error.msg) <= 300
        assert classify(error) in (Outcome.REJECTED, Outcome.UNKNOWN)
        assert isinstance(str(error), str)


#: binance-fapi.md section 6.5, new LIMIT order with newOrderRespType=ACK.
ACK = {
    "orderId": 4082713652,
    "symbol": "BTCUSDT",
    "status": "NEW",
    "clientOrderId": "trio-7f3a-0001",
    "price": "61250.10",
    "avgPrice": "0.00",
    "origQty": "0.005",
    "executedQty": "0.000",
    "cumQty": "0.000",
    "cumQuote": "0.00000",
    "timeInForce": "GTC",
    "type": "LIMIT",
    "reduceOnly": False,
    "closePosition": False,
    "side": "BUY",
    "positionSide": "BOTH",
    "stopPrice": "0.00",
    "workingType": "CONTRACT_PRICE",
    "priceProtect": False,
    "origType": "LIMIT",
    "priceMatch": "NONE",
    "selfTradePreventionMode": "EXPIRE_MAKER",
    "goodTillDate": 0,
    "updateTime": 1763712000123,
}
#: binance-fapi.md section 6.5, GET /fapi/v1/order after a partial fill.
QUERY = {
    "avgPrice": "61250.10",
    "clientOrderId": "trio-7f3a-0001",
    "cumQuote": "122.50020",
    "executedQty": "0.002",
    "orderId": 4082713652,
    "origQty": "0.005",
    "origType": "LIMIT",
    "price": "61250.10",
    "reduceOnly": False,
    "side": "BUY",
    "positionSide": "BOTH",
    "status": "PARTIALLY_FILLED",
    "stopPrice": "0.00",
    "closePosition": False,
    "symbol": "BTCUSDT",
    "time": 1763712000123,
    "timeInForce": "GTC",
    "type": "LIMIT",
    "updateTime": 1763712004567,
    "workingType": "CONTRACT_PRICE",
    "priceProtect": False,
    "priceMatch": "NONE",
    "selfTradePreventionMode": "EXPIRE_MAKER",
    "goodTillDate": 0,
}


def altered(payload: dict[str, Any], **changes: object) -> dict[str, Any]:
    """A copy of ``payload`` with keys changed (a value of ``...`` deletes the key)."""
    out = copy.deepcopy(payload)
    for key, value in changes.items():
        if value is ...:
            del out[key]
        else:
            out[key] = value
    return out


class TestVenueOrderParsing:
    """VenueOrder.from_wire reads Binance's order objects into exact, typed fields."""

    def test_ack(self) -> None:
        order = VenueOrder.from_wire(ACK)
        assert order.symbol == Symbol("BTCUSDT")
        assert order.order_id == VenueOrderId(4082713652)
        assert order.client_order_id == "trio-7f3a-0001"
        assert order.matches(ClientOrderId("trio-7f3a-0001"))
        assert not order.matches(ClientOrderId("trio-7f3a-0002"))
        assert order.status is OrderStatus.NEW
        assert order.side is OrderSide.BUY
        assert order.order_type is OrderType.LIMIT
        assert order.time_in_force is TimeInForce.GTC
        assert order.position_side is PositionSide.BOTH
        assert order.price == Decimal("61250.10")
        assert order.orig_qty == Decimal("0.005")
        assert order.executed_qty == 0
        assert order.avg_price == 0
        assert order.reduce_only is False
        assert order.update_time == 1763712000123

    def test_query_after_partial_fill(self) -> None:
        order = VenueOrder.from_wire(QUERY)
        assert order.status is OrderStatus.PARTIALLY_FILLED
        assert order.executed_qty == Decimal("0.002")
        assert order.cum_quote == Decimal("122.50020")
        assert order.avg_price == Decimal("61250.10")
        assert order.update_time == 1763712004567

    def test_average_price_from_cum_quote_when_absent(self) -> None:
        # The 2026 spec dropped avgPrice from some responses.
        order = VenueOrder.from_wire(altered(QUERY, avgPrice=...))
        assert order.avg_price == Decimal("61250.10")

    def test_numbers_stay_exact(self) -> None:
        order = VenueOrder.from_wire(json.loads(json.dumps(QUERY)))
        assert str(order.price) == "61250.10"

    @pytest.mark.parametrize(
        "payload",
        [
            pytest.param(altered(ACK, price=61250.1), id="float-price"),
            pytest.param(altered(ACK, origQty=0.005), id="float-orig-qty"),
            pytest.param(altered(ACK, executedQty=0.0), id="float-executed-qty"),
            pytest.param(altered(QUERY, cumQuote=122.5002), id="float-cum-quote"),
            pytest.param(altered(ACK, price="NaN"), id="nan-price"),
            pytest.param(altered(ACK, status="WEIRD"), id="unknown-status"),
            pytest.param(altered(ACK, status="new"), id="lower-case-status"),
            pytest.param(altered(ACK, status="UNKNOWN"), id="local-status"),
            pytest.param(altered(ACK, status="PENDING_NEW"), id="local-pending-status"),
            pytest.param(altered(ACK, status=...), id="missing-status"),
            pytest.param(altered(ACK, clientOrderId=...), id="missing-client-order-id"),
            pytest.param(altered(ACK, clientOrderId=None), id="null-client-order-id"),
            pytest.param(altered(ACK, orderId=...), id="missing-order-id"),
            pytest.param(altered(ACK, orderId=True), id="bool-order-id"),
            pytest.param(altered(ACK, orderId="12a"), id="text-order-id"),
            pytest.param(altered(ACK, executedQty=...), id="missing-executed-qty"),
            pytest.param(altered(ACK, side="HOLD"), id="unknown-side"),
            pytest.param(altered(ACK, type=...), id="missing-type"),
            pytest.param(altered(ACK, symbol=...), id="missing-symbol"),
            pytest.param(altered(ACK, symbol="btcusdt"), id="lower-case-symbol"),
            pytest.param([ACK], id="array"),
            pytest.param("NEW", id="string"),
            pytest.param(None, id="null"),
        ],
    )
    def test_malformed(self, payload: object) -> None:
        with pytest.raises(MalformedResponse) as info:
            VenueOrder.from_wire(payload)
        assert str(info.value).startswith("malformed response")


class TestImpossibleAmounts:
    """Row 20: amounts Binance would never print make the whole report malformed."""

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            pytest.param("executedQty", "1e999999", id="exponent-executed"),
            pytest.param("executedQty", "1E-3", id="upper-exponent-executed"),
            pytest.param("origQty", "5e-3", id="exponent-orig"),
            pytest.param("price", "6.12501E+4", id="exponent-price"),
            pytest.param("avgPrice", "6e4", id="exponent-avg-price"),
            pytest.param("cumQuote", "1.2e2", id="exponent-cum-quote"),
            pytest.param("executedQty", "-0.001", id="negative-executed"),
            pytest.param("origQty", "-0.005", id="negative-orig"),
            pytest.param("price", "-61250.10", id="negative-price"),
            pytest.param("cumQuote", "-1", id="negative-cum-quote"),
            pytest.param("executedQty", "+0.001", id="plus-sign"),
            pytest.param("executedQty", " 0.001", id="padded"),
            pytest.param("executedQty", "0.001\n", id="trailing-newline"),
            pytest.param("executedQty", ".5", id="no-integer-part"),
            pytest.param("executedQty", "0,001", id="comma"),
            pytest.param("executedQty", "\u0661", id="non-ascii-digit"),
            pytest.param("executedQty", "", id="empty"),
            pytest.param("executedQty", "Infinity", id="infinity"),
            pytest.param("executedQty", 0, id="json-int"),
            pytest.param("origQty", "0." + "0" * 100 + "5", id="overlong"),
        ],
    )
    def test_refused(self, field: str, value: object) -> None:
        with pytest.raises(MalformedResponse) as info:
            VenueOrder.from_wire(altered(QUERY, **{field: value}))
        assert field in info.value.reason

    @pytest.mark.parametrize(
        ("executed", "orig"),
        [("0.006", "0.005"), ("0.0051", "0.005"), ("1", "0.000")],
        ids=["over", "over-by-a-fraction", "over-zero"],
    )
    def test_executed_beyond_original_is_refused(self, executed: str, orig: str) -> None:
        with pytest.raises(MalformedResponse, match="executedQty is larger than origQty"):
            VenueOrder.from_wire(altered(QUERY, executedQty=executed, origQty=orig))

    def test_executed_equal_to_original_is_a_full_fill(self) -> None:
        order = VenueOrder.from_wire(
            altered(QUERY, status="FILLED", executedQty="0.005", cumQuote="306.25050")
        )
        assert order.executed_qty == order.orig_qty == Decimal("0.005")

    def test_close_position_may_report_no_original_quantity(self) -> None:
        # closePosition orders close whatever is open; Binance prints origQty "0".
        order = VenueOrder.from_wire(altered(QUERY, origQty="0", closePosition=True))
        assert order.executed_qty == Decimal("0.002")

    def test_only_close_position_true_relaxes_the_check(self) -> None:
        with pytest.raises(MalformedResponse):
            VenueOrder.from_wire(altered(QUERY, origQty="0", closePosition="true"))

    def test_huge_values_are_not_echoed(self) -> None:
        huge = "9" * 100_000 + "e999999"
        with pytest.raises(MalformedResponse) as info:
            VenueOrder.from_wire(altered(QUERY, executedQty=huge))
        message = str(info.value)
        assert "executedQty" in message
        assert len(message) < 200
        assert "999999" not in message

    def test_trailing_zeros_and_zero_are_fine(self) -> None:
        order = VenueOrder.from_wire(
            altered(QUERY, executedQty="0.00000", price="0", avgPrice="0.00", cumQuote="0")
        )
        assert (order.executed_qty, order.price, order.avg_price) == (_ZERO, _ZERO, _ZERO)

    @given(
        orig=st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False),
        executed=st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False),
    )
    def test_fixed_point_amounts_parse_exactly(self, orig: Decimal, executed: Decimal) -> None:
        payload = altered(QUERY, origQty=f"{orig:f}", executedQty=f"{executed:f}")
        if executed > orig:
            with pytest.raises(MalformedResponse):
                VenueOrder.from_wire(payload)
        else:
            order = VenueOrder.from_wire(payload)
            assert (order.orig_qty, order.executed_qty) == (orig, executed)
