"""Turning order parameters into commands, with Binance's shape errors.

The order of the checks follows what Binance answers first when several things
are wrong: mandatory parameters, then the symbol, then enums, then numbers,
then combinations.
"""

from __future__ import annotations

from decimal import Decimal

from trio_fapi.protocol.enums import (
    ALGO_ORDER_TYPES,
    OrderSide,
    OrderType,
    PositionSide,
    ResponseType,
    TimeInForce,
    WorkingType,
)
from trio_fapi.protocol.ids import CLIENT_ORDER_ID_PATTERN

from .commands import ModifyOrder, NewAlgoOrder, NewOrder, OrderRef
from .config import SimConfig, SymbolSpec
from .errors import SimError
from .params import Params

__all__ = [
    "parse_algo_order",
    "parse_client_id",
    "parse_modify",
    "parse_new_order",
    "parse_ref",
    "parse_symbol",
]


def parse_symbol(params: Params, config: SimConfig, *, required: bool = True) -> SymbolSpec | None:
    """The ``symbol`` parameter's spec: -1102 when missing, -1121 when unlisted."""
    name = params.text("symbol", required=required)
    if name is None:
        return None
    spec = config.spec(name)
    if spec is None:
        raise SimError.of(-1121)
    return spec


def parse_client_id(params: Params, name: str) -> str | None:
    """A client order id, or -4015 if Binance would refuse its characters or length."""
    raw = params.text(name)
    if raw is not None and not CLIENT_ORDER_ID_PATTERN.fullmatch(raw):
        raise SimError.of(-4015)
    return raw


def _quantity(params: Params, spec: SymbolSpec, *, required: bool) -> Decimal | None:
    qty = params.decimal("quantity", unit=spec.rules.lot_size.step_size, required=required)
    if qty is not None and qty <= 0:
        raise SimError.of(-4003)
    return qty


def _price(params: Params, spec: SymbolSpec, name: str = "price") -> Decimal | None:
    price = params.decimal(name, unit=spec.rules.price_filter.tick_size)
    if price is not None and price < 0:
        raise SimError.of(-4001)
    return price


def parse_new_order(params: Params, config: SimConfig) -> NewOrder:
    """``POST /fapi/v1/order`` (and each batch item) into a :class:`NewOrder`.

    Raises:
        SimError: -1102, -1121, -1116, -1117, -1115, -4120, -1106, -1100,
            -1111, -4003, -4001, -4060, -4015, -1136, -1130.
    """
    params.require("symbol")
    params.require("side")
    params.require("type")
    spec = parse_symbol(params, config)
    assert spec is not None
    side = params.choice("side", OrderSide, -1117, required=True)
    order_type = params.choice("type", OrderType, -1116, required=True)
    assert side is not None
    assert order_type is not None
    if order_type in ALGO_ORDER_TYPES:
        raise SimError.of(-4120)
    if order_type is OrderType.LIQUIDATION:
        raise SimError.of(-1116)
    tif = params.choice("timeInForce", TimeInForce, -1115)
    if order_type is OrderType.MARKET:
        for unwanted in ("timeInForce", "price"):
            if params.has(unwanted):
                raise SimError.of(-1106, unwanted)
    else:
        params.require("timeInForce")
        params.require("quantity")
        params.require("price")
    quantity = _quantity(params, spec, required=True)
    assert quantity is not None
    price = _price(params, spec)
    position_side = params.choice("positionSide", PositionSide, -4060)
    reduce_only = params.boolean("reduceOnly") or False
    client_id = parse_client_id(params, "newClientOrderId")
    resp_type = params.choice("newOrderRespType", ResponseType, -1136) or ResponseType.ACK
    gtd = params.integer("goodTillDate")
    if tif is TimeInForce.GTD and gtd is None:
        raise SimError.of(-1102, "goodTillDate")
    return NewOrder(
        symbol=spec.symbol,
        side=side,
        order_type=order_type,
        quantity=quantity,
        price=price,
        time_in_force=tif,
        position_side=position_side,
        reduce_only=reduce_only,
        client_order_id=client_id,
        response_type=resp_type,
        good_till_date=gtd if tif is TimeInForce.GTD else None,
    )


def parse_ref(params: Params, config: SimConfig) -> OrderRef:
    """``symbol`` plus ``orderId`` or ``origClientOrderId`` (``orderId`` wins)."""
    spec = parse_symbol(params, config)
    assert spec is not None
    order_id = params.integer("orderId")
    client_id = params.text("origClientOrderId")
    if order_id is None and client_id is None:
        raise SimError(
            code=-1102,
            msg="Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )
    return OrderRef(symbol=spec.symbol, order_id=order_id, client_order_id=client_id)


def parse_modify(params: Params, config: SimConfig) -> ModifyOrder:
    """``PUT /fapi/v1/order``: symbol, side, quantity and price are all mandatory."""
    for name in ("symbol", "side", "quantity", "price"):
        params.require(name)
    ref = parse_ref(params, config)
    spec = config.spec(ref.symbol)
    assert spec is not None
    side = params.choice("side", OrderSide, -1117, required=True)
    quantity = _quantity(params, spec, required=True)
    price = _price(params, spec)
    assert side is not None
    assert quantity is not None
    assert price is not None
    return ModifyOrder(ref=ref, side=side, quantity=quantity, price=price)


def parse_algo_order(params: Params, config: SimConfig) -> NewAlgoOrder:
    """``POST /fapi/v1/algoOrder`` into a :class:`NewAlgoOrder`.

    Raises:
        SimError: Shape errors as for orders, plus -1116 for a non-conditional
            type and -1130 for a bad ``algoType`` or ``callbackRate``.
    """
    for name in ("algoType", "symbol", "side", "type"):
        params.require(name)
    if params.require("algoType") != "CONDITIONAL":
        raise SimError.of(-1130, "algoType")
    spec = parse_symbol(params, config)
    assert spec is not None
    side = params.choice("side", OrderSide, -1117, required=True)
    order_type = params.choice("type", OrderType, -1116, required=True)
    assert side is not None
    assert order_type is not None
    if order_type not in ALGO_ORDER_TYPES:
        raise SimError.of(-1116)
    tif = params.choice("timeInForce", TimeInForce, -1115) or TimeInForce.GTC
    close_position = params.boolean("closePosition") or False
    if close_position and order_type not in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET):
        raise SimError.of(-1106, "closePosition")
    if close_position and params.has("quantity"):
        raise SimError(code=-4136, msg="Quantity cannot be sent with closePosition=true.")
    quantity = _quantity(params, spec, required=not close_position)
    if order_type in (OrderType.STOP, OrderType.TAKE_PROFIT):
        params.require("price")
    if order_type is not OrderType.TRAILING_STOP_MARKET:
        params.require("triggerPrice")
    else:
        params.require("callbackRate")
    callback = params.decimal("callbackRate")
    if callback is not None and not Decimal("0.1") <= callback <= Decimal(20):
        raise SimError.of(-1130, "callbackRate")
    return NewAlgoOrder(
        symbol=spec.symbol,
        side=side,
        order_type=order_type,
        quantity=quantity,
        price=_price(params, spec),
        trigger_price=_price(params, spec, "triggerPrice"),
        time_in_force=tif,
        position_side=params.choice("positionSide", PositionSide, -4060),
        working_type=params.choice("workingType", WorkingType, -1130) or WorkingType.CONTRACT_PRICE,
        reduce_only=params.boolean("reduceOnly") or False,
        close_position=close_position,
        price_protect=params.boolean("priceProtect") or False,
        activate_price=_price(params, spec, "activatePrice"),
        callback_rate=callback,
        client_algo_id=parse_client_id(params, "clientAlgoId"),
        good_till_date=params.integer("goodTillDate"),
    )
