"""``OrderRequest.from_params`` reads back exactly what ``to_params`` wrote.

A restarted engine rebuilds every journaled placement with it (faults.md row
49), so the order it reconciles must be the order that was sent: same type,
side, numbers, flags and client id.
"""

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
from trio_fapi.protocol.errors import InvalidOrder
from trio_fapi.protocol.orders import OrderRequest

#: A positive exact amount, in any of the shapes a caller may pass: many
#: places, trailing zeros, or a positive exponent (``1E+3``).
amounts = st.one_of(
    st.decimals(
        min_value=Decimal("0.00000001"),
        max_value=Decimal(10_000_000),
        places=8,
        allow_nan=False,
        allow_infinity=False,
    ),
    st.integers(min_value=1, max_value=99_999).map(Decimal),
    st.builds(
        lambda n, e: Decimal(n).scaleb(e),
        st.integers(min_value=1, max_value=999),
        st.integers(min_value=-8, max_value=4),
    ),
).filter(lambda d: d > 0)
callback_rates = st.integers(min_value=1, max_value=200).map(lambda n: Decimal(n).scaleb(-1))
client_ids = st.one_of(st.none(), st.from_regex(r"[.A-Z:/a-z0-9_-]{1,36}", fullmatch=True))
symbols = st.sampled_from(["BTCUSDT", "ETHUSDT", "1000PEPEUSDT"])
sides = st.sampled_from(list(OrderSide))
gtd_ms = st.integers(min_value=1_700_000_000_000, max_value=4_000_000_000_000)


@st.composite
def position(draw: st.DrawFn) -> dict[str, Any]:
    """Position side and reduce-only: reduce-only exists in one-way mode only."""
    side = draw(st.sampled_from(list(PositionSide)))
    reduce_only = side is PositionSide.BOTH and draw(st.booleans())
    return {"position_side": side, "reduce_only": reduce_only}


@st.composite
def time_in_force(draw: st.DrawFn, *, optional: bool) -> dict[str, Any]:
    choices: list[TimeInForce | None] = list(TimeInForce)
    if optional:
        choices.append(None)
    tif = draw(st.sampled_from(choices))
    out: dict[str, Any] = {"time_in_force": tif}
    if tif is TimeInForce.GTD:
        out["good_till_date"] = draw(gtd_ms)
    return out


@st.composite
def limit_requests(draw: st.DrawFn) -> OrderRequest:
    return OrderRequest(
        symbol=draw(symbols),
        side=draw(sides),
        order_type=OrderType.LIMIT,
        quantity=draw(amounts),
        price=draw(amounts),
        client_order_id=draw(client_ids),
        response_type=draw(st.sampled_from(list(ResponseType))),
        **draw(time_in_force(optional=False)),
        **draw(position()),
    )


@st.composite
def market_requests(draw: st.DrawFn) -> OrderRequest:
    return OrderRequest(
        symbol=draw(symbols),
        side=draw(sides),
        order_type=OrderType.MARKET,
        quantity=draw(amounts),
        client_order_id=draw(client_ids),
        response_type=draw(st.sampled_from(list(ResponseType))),
        **draw(position()),
    )


@st.composite
def conditional_requests(draw: st.DrawFn) -> OrderRequest:
    """STOP_MARKET / TAKE_PROFIT_MARKET, with a quantity or closing the position."""
    side = draw(sides)
    fields: dict[str, Any] = {
        "symbol": draw(symbols),
        "side": side,
        "order_type": draw(st.sampled_from([OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET])),
        "trigger_price": draw(amounts),
        "working_type": draw(st.sampled_from(list(WorkingType))),
        "price_protect": draw(st.booleans()),
        "client_order_id": draw(client_ids),
        **draw(time_in_force(optional=True)),
    }
    if draw(st.booleans()):
        # closePosition: no quantity, no reduceOnly, and never opening in hedge mode.
        closing = PositionSide.SHORT if side is OrderSide.BUY else PositionSide.LONG
        fields["position_side"] = draw(st.sampled_from([PositionSide.BOTH, closing]))
        fields["close_position"] = True
    else:
        fields["quantity"] = draw(amounts)
        fields.update(draw(position()))
    return OrderRequest(**fields)


@st.composite
def trailing_requests(draw: st.DrawFn) -> OrderRequest:
    return OrderRequest(
        symbol=draw(symbols),
        side=draw(sides),
        order_type=OrderType.TRAILING_STOP_MARKET,
        quantity=draw(amounts),
        callback_rate=draw(callback_rates),
        activation_price=draw(st.none() | amounts),
        working_type=draw(st.sampled_from(list(WorkingType))),
        price_protect=draw(st.booleans()),
        client_order_id=draw(client_ids),
        **draw(time_in_force(optional=True)),
        **draw(position()),
    )


requests = st.one_of(
    limit_requests(), market_requests(), conditional_requests(), trailing_requests()
)


class TestRoundTrip:
    @given(requests)
    def test_from_params_of_to_params_is_the_request(self, request: OrderRequest) -> None:
        assert OrderRequest.from_params(request.to_params()) == request

    @given(requests)
    def test_the_read_back_request_sends_the_same_parameters(self, request: OrderRequest) -> None:
        params = request.to_params()
        assert OrderRequest.from_params(params).to_params() == params

    @given(requests)
    def test_the_read_back_request_routes_the_same_way(self, request: OrderRequest) -> None:
        back = OrderRequest.from_params(request.to_params())
        assert back.is_algo is request.is_algo
        assert back.is_risk_reducing is request.is_risk_reducing

    def test_an_assigned_client_id_survives(self) -> None:
        request = OrderRequest.stop_market(
            "BTCUSDT", "SELL", "59000", "0.010", client_order_id="sess.mm3f2a1.1f"
        )
        assert request.to_params()["clientAlgoId"] == "sess.mm3f2a1.1f"
        back = OrderRequest.from_params(request.to_params())
        assert back.client_order_id == request.client_order_id


class TestBadParams:
    @pytest.mark.parametrize(
        "params",
        [
            pytest.param({"side": "BUY", "type": "MARKET", "quantity": "1"}, id="no-symbol"),
            pytest.param({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT"}, id="limit-bare"),
            pytest.param(
                {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1E-3"},
                id="exponent",
            ),
            pytest.param(
                {"symbol": "BTCUSDT", "side": "buy", "type": "MARKET", "quantity": "1"},
                id="lower-case-side",
            ),
            pytest.param(
                {"symbol": "BTCUSDT", "side": "BUY", "type": "NOPE", "quantity": "1"},
                id="unknown-type",
            ),
        ],
    )
    def test_refused_as_invalid_order(self, params: dict[str, str]) -> None:
        with pytest.raises(InvalidOrder):
            OrderRequest.from_params(params)


class TestFieldsTheWireDoesNotCarry:
    @pytest.mark.parametrize(
        "build",
        [
            pytest.param(
                lambda: OrderRequest.stop_market(
                    "BTCUSDT", "SELL", "59000", "0.010", response_type="ACK"
                ),
                id="algo-ack",
            ),
            pytest.param(
                lambda: OrderRequest.limit(
                    "BTCUSDT", "BUY", "0.010", "59000", working_type="MARK_PRICE"
                ),
                id="limit-mark-price",
            ),
            pytest.param(
                lambda: OrderRequest.limit(
                    "BTCUSDT", "BUY", "0.010", "59000", time_in_force="GTD", good_till_date=-5
                ),
                id="negative-gtd",
            ),
        ],
    )
    def test_refused_or_kept(self, build: Any) -> None:
        try:
            request = build()
        except InvalidOrder:
            return  # refused at construction: nothing to lose
        assert OrderRequest.from_params(request.to_params()) == request
