"""The order request: built only from valid input, serialised only fixed-point.

An :class:`OrderRequest` that exists is well-formed: its constructor refuses
floats, NaN, infinities, bools, zero and negative numbers, illegal client ids and
parameter combinations Binance refuses (faults.md rows 54-61), each with a typed
:class:`~trio_fapi.protocol.errors.InvalidOrder`. Filter checks that need
exchangeInfo live in :meth:`SymbolRules.validate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TypeVar, final

import attrs

from .enums import (
    ALGO_ORDER_TYPES,
    OrderSide,
    OrderType,
    PositionSide,
    ResponseType,
    TimeInForce,
    WorkingType,
)
from .errors import InvalidCombination
from .ids import ClientOrderId, Symbol
from .numbers import fmt, to_decimal

__all__ = ["OrderRequest", "to_enum"]


_E = TypeVar("_E", OrderSide, OrderType, TimeInForce, PositionSide, WorkingType, ResponseType)


def to_enum(kind: type[_E], value: object, *, field: str) -> _E:
    """Accept an enum member or its exact wire string.

    Raises:
        InvalidCombination: For anything else (wrong case included).
    """
    if isinstance(value, kind):
        return value
    if isinstance(value, str) and value in kind.__members__:
        return kind(value)
    allowed = ", ".join(kind.__members__)
    raise InvalidCombination(reason=f"{field}={value!r} is not one of {allowed}")


def _side(value: object) -> OrderSide:
    return to_enum(OrderSide, value, field="side")


def _type(value: object) -> OrderType:
    return to_enum(OrderType, value, field="type")


def _tif(value: object) -> TimeInForce | None:
    return None if value is None else to_enum(TimeInForce, value, field="timeInForce")


def _position_side(value: object) -> PositionSide:
    return to_enum(PositionSide, value, field="positionSide")


def _working_type(value: object) -> WorkingType:
    return to_enum(WorkingType, value, field="workingType")


def _response_type(value: object) -> ResponseType:
    return to_enum(ResponseType, value, field="newOrderRespType")


def _quantity(value: object) -> Decimal | None:
    return None if value is None else to_decimal(value, field="quantity")


def _price(value: object) -> Decimal | None:
    return None if value is None else to_decimal(value, field="price")


def _trigger(value: object) -> Decimal | None:
    return None if value is None else to_decimal(value, field="triggerPrice")


def _callback(value: object) -> Decimal | None:
    return None if value is None else to_decimal(value, field="callbackRate")


def _activation(value: object) -> Decimal | None:
    return None if value is None else to_decimal(value, field="activatePrice")


def _symbol(value: object) -> Symbol:
    if isinstance(value, Symbol):
        return value
    return Symbol(value)  # type: ignore[arg-type]


def _client_id(value: object) -> ClientOrderId | None:
    if value is None or isinstance(value, ClientOrderId):
        return value
    return ClientOrderId(value)  # type: ignore[arg-type]


def _check_bool(_inst: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidCombination(reason=f"{attribute.name} must be True or False")


@final
@attrs.frozen(kw_only=True)
class OrderRequest:
    """One order intent, as the strategy asked for it.

    Prefer the named constructors (:meth:`limit`, :meth:`market`,
    :meth:`stop_market`, :meth:`take_profit_market`), which fill in the
    parameters each type needs.

    Raises:
        InvalidOrder: From construction, for any bad value or combination.
    """

    symbol: Symbol = attrs.field(converter=_symbol)
    side: OrderSide = attrs.field(converter=_side)
    order_type: OrderType = attrs.field(converter=_type)
    quantity: Decimal | None = attrs.field(default=None, converter=_quantity)
    price: Decimal | None = attrs.field(default=None, converter=_price)
    time_in_force: TimeInForce | None = attrs.field(default=None, converter=_tif)
    reduce_only: bool = attrs.field(default=False, validator=_check_bool)
    close_position: bool = attrs.field(default=False, validator=_check_bool)
    position_side: PositionSide = attrs.field(default=PositionSide.BOTH, converter=_position_side)
    trigger_price: Decimal | None = attrs.field(default=None, converter=_trigger)
    working_type: WorkingType = attrs.field(
        default=WorkingType.CONTRACT_PRICE, converter=_working_type
    )
    price_protect: bool = attrs.field(default=False, validator=_check_bool)
    callback_rate: Decimal | None = attrs.field(default=None, converter=_callback)
    activation_price: Decimal | None = attrs.field(default=None, converter=_activation)
    good_till_date: int | None = None
    client_order_id: ClientOrderId | None = attrs.field(default=None, converter=_client_id)
    response_type: ResponseType = attrs.field(default=ResponseType.RESULT, converter=_response_type)

    def __attrs_post_init__(self) -> None:
        _check_combination(self)

    # -- named constructors ---------------------------------------------------------

    @classmethod
    def limit(
        cls,
        symbol: Symbol | str,
        side: OrderSide | str,
        quantity: object,
        price: object,
        *,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        **options: object,
    ) -> OrderRequest:
        """A LIMIT order (GTC unless told otherwise)."""
        return cls(
            symbol=symbol,
            side=side,
            order_type=OrderType.LIMIT,
            quantity=quantity,
            price=price,
            time_in_force=time_in_force,
            **options,  # type: ignore[arg-type]
        )

    @classmethod
    def market(
        cls, symbol: Symbol | str, side: OrderSide | str, quantity: object, **options: object
    ) -> OrderRequest:
        """A MARKET order."""
        return cls(
            symbol=symbol,
            side=side,
            order_type=OrderType.MARKET,
            quantity=quantity,
            **options,  # type: ignore[arg-type]
        )

    @classmethod
    def stop_market(
        cls,
        symbol: Symbol | str,
        side: OrderSide | str,
        trigger_price: object,
        quantity: object = None,
        **options: object,
    ) -> OrderRequest:
        """A STOP_MARKET algo order (routed through ``/fapi/v1/algoOrder``)."""
        return cls(
            symbol=symbol,
            side=side,
            order_type=OrderType.STOP_MARKET,
            quantity=quantity,
            trigger_price=trigger_price,
            **options,  # type: ignore[arg-type]
        )

    @classmethod
    def take_profit_market(
        cls,
        symbol: Symbol | str,
        side: OrderSide | str,
        trigger_price: object,
        quantity: object = None,
        **options: object,
    ) -> OrderRequest:
        """A TAKE_PROFIT_MARKET algo order (routed through ``/fapi/v1/algoOrder``)."""
        return cls(
            symbol=symbol,
            side=side,
            order_type=OrderType.TAKE_PROFIT_MARKET,
            quantity=quantity,
            trigger_price=trigger_price,
            **options,  # type: ignore[arg-type]
        )

    # -- wire ---------------------------------------------------------------------

    @property
    def is_algo(self) -> bool:
        """True for conditional types, which only ``/fapi/v1/algoOrder`` accepts."""
        return self.order_type in ALGO_ORDER_TYPES

    @property
    def is_risk_reducing(self) -> bool:
        """Reduce-only, close-position, or a hedge-mode close (exempt from -1008)."""
        return (
            self.reduce_only
            or self.close_position
            or (self.position_side is PositionSide.LONG and self.side is OrderSide.SELL)
            or (self.position_side is PositionSide.SHORT and self.side is OrderSide.BUY)
        )

    def with_client_order_id(self, client_order_id: ClientOrderId) -> OrderRequest:
        """A copy carrying the id the engine assigned."""
        return attrs.evolve(self, client_order_id=client_order_id)

    def to_params(self) -> dict[str, str]:
        """The request parameters, in one canonical order, numbers fixed-point.

        Classic types produce ``POST /fapi/v1/order`` parameters; conditional
        types produce ``POST /fapi/v1/algoOrder`` ones (``algoType``,
        ``triggerPrice``, ``clientAlgoId``).
        """
        params: dict[str, str] = {}
        if self.is_algo:
            params["algoType"] = "CONDITIONAL"
        params["symbol"] = self.symbol.value
        params["side"] = self.side.value
        params["type"] = self.order_type.value
        if self.position_side is not PositionSide.BOTH:
            params["positionSide"] = self.position_side.value
        if self.time_in_force is not None:
            params["timeInForce"] = self.time_in_force.value
        if self.quantity is not None:
            params["quantity"] = fmt(self.quantity)
        if self.price is not None:
            params["price"] = fmt(self.price)
        if self.trigger_price is not None:
            params["triggerPrice"] = fmt(self.trigger_price)
        if self.is_algo:
            params["workingType"] = self.working_type.value
            if self.price_protect:
                params["priceProtect"] = "true"
            if self.close_position:
                params["closePosition"] = "true"
            if self.callback_rate is not None:
                params["callbackRate"] = fmt(self.callback_rate)
            if self.activation_price is not None:
                params["activatePrice"] = fmt(self.activation_price)
        if self.reduce_only:
            params["reduceOnly"] = "true"
        if self.good_till_date is not None:
            params["goodTillDate"] = str(self.good_till_date)
        if self.client_order_id is not None:
            key = "clientAlgoId" if self.is_algo else "newClientOrderId"
            params[key] = self.client_order_id.value
        if not self.is_algo:
            params["newOrderRespType"] = self.response_type.value
        return params

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> OrderRequest:
        """Rebuild a request from :meth:`to_params` output (the intent journal's copy).

        A restarted engine reads its journaled intents back with this, so the
        order it reconciles carries the request that was sent.

        Raises:
            InvalidOrder: The parameters do not describe a valid request.
        """

        def flag(key: str) -> bool:
            return params.get(key) == "true"

        gtd = params.get("goodTillDate")
        return cls(
            symbol=params.get("symbol"),
            side=params.get("side"),
            order_type=params.get("type"),
            quantity=params.get("quantity"),
            price=params.get("price"),
            time_in_force=params.get("timeInForce"),
            reduce_only=flag("reduceOnly"),
            close_position=flag("closePosition"),
            position_side=params.get("positionSide", PositionSide.BOTH.value),
            trigger_price=params.get("triggerPrice"),
            working_type=params.get("workingType", WorkingType.CONTRACT_PRICE.value),
            price_protect=flag("priceProtect"),
            callback_rate=params.get("callbackRate"),
            activation_price=params.get("activatePrice"),
            good_till_date=int(gtd) if gtd is not None and gtd.isdigit() else None,
            client_order_id=params.get("clientAlgoId") or params.get("newClientOrderId"),
            response_type=params.get("newOrderRespType", ResponseType.RESULT.value),
        )


def _check_combination(req: OrderRequest) -> None:
    t = req.order_type
    if t is OrderType.LIQUIDATION:
        raise InvalidCombination(reason="LIQUIDATION orders are placed by the exchange only")
    if t is OrderType.MARKET and req.time_in_force is not None:
        raise InvalidCombination(reason="timeInForce is not allowed on MARKET orders")
    if t is OrderType.MARKET and req.price is not None:
        raise InvalidCombination(reason="price is not allowed on MARKET orders")
    if t in (OrderType.LIMIT, OrderType.STOP, OrderType.TAKE_PROFIT):
        if req.price is None:
            raise InvalidCombination(reason=f"{t} orders need a price")
    elif req.price is not None:
        raise InvalidCombination(reason=f"{t} orders take no price")
    if t is OrderType.LIMIT and req.time_in_force is None:
        raise InvalidCombination(reason="LIMIT orders need a timeInForce")
    if req.time_in_force is TimeInForce.GTD and req.good_till_date is None:
        raise InvalidCombination(reason="GTD needs good_till_date")
    if req.good_till_date is not None and req.time_in_force is not TimeInForce.GTD:
        raise InvalidCombination(reason="good_till_date is only valid with timeInForce GTD")
    if req.good_till_date is not None and (
        isinstance(req.good_till_date, bool) or not isinstance(req.good_till_date, int)
    ):
        raise InvalidCombination(reason="good_till_date must be epoch milliseconds (int)")
    if req.good_till_date is not None and req.good_till_date <= 0:
        raise InvalidCombination(reason="good_till_date must be positive epoch milliseconds")
    if t not in ALGO_ORDER_TYPES and req.working_type is not WorkingType.CONTRACT_PRICE:
        raise InvalidCombination(reason=f"workingType is for algo orders, not {t}")
    if t in ALGO_ORDER_TYPES and req.response_type is not ResponseType.RESULT:
        raise InvalidCombination(reason="newOrderRespType is not sent with algo orders")
    if t in ALGO_ORDER_TYPES - {OrderType.TRAILING_STOP_MARKET}:
        if req.trigger_price is None:
            raise InvalidCombination(reason=f"{t} orders need a trigger_price")
    elif t is OrderType.TRAILING_STOP_MARKET:
        if req.callback_rate is None:
            raise InvalidCombination(reason="TRAILING_STOP_MARKET needs a callback_rate")
    elif req.trigger_price is not None:
        raise InvalidCombination(reason=f"{t} orders take no trigger_price (use an algo type)")
    if t not in ALGO_ORDER_TYPES and (
        req.callback_rate is not None or req.activation_price is not None or req.price_protect
    ):
        raise InvalidCombination(
            reason=f"trailing and price-protect options are for algo orders, not {t}"
        )
    if req.close_position:
        if t not in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET):
            raise InvalidCombination(
                reason="closePosition is only for STOP_MARKET / TAKE_PROFIT_MARKET"
            )
        if req.quantity is not None:
            raise InvalidCombination(reason="closePosition excludes quantity")
        if req.reduce_only:
            raise InvalidCombination(reason="closePosition excludes reduceOnly")
        if (req.position_side is PositionSide.LONG and req.side is OrderSide.BUY) or (
            req.position_side is PositionSide.SHORT and req.side is OrderSide.SELL
        ):
            raise InvalidCombination(
                reason="closePosition in hedge mode cannot open (BUY LONG / SELL SHORT)"
            )
    elif req.quantity is None:
        raise InvalidCombination(reason=f"{t} orders need a quantity")
    if req.reduce_only and req.position_side is not PositionSide.BOTH:
        raise InvalidCombination(
            reason="reduceOnly cannot be sent in hedge mode (positionSide LONG/SHORT)"
        )
    if req.callback_rate is not None and not (Decimal("0.1") <= req.callback_rate <= Decimal(20)):
        raise InvalidCombination(reason="callbackRate must be between 0.1 and 20")
