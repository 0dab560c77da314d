"""Order routes: place, modify, cancel, query, list, batch, dead-man switch."""

from __future__ import annotations

import json

import attrs

from trio_fapi.protocol.enums import OrderType, ResponseType, TimeInForce

from .commands import ModifyOrder, NewOrder, OrderRef
from .context import RouteContext, Routes
from .errors import SimError
from .matching import within
from .order_checks import check_filters, check_new_order, ensure_margin
from .order_params import parse_modify, parse_new_order, parse_ref, parse_symbol
from .params import Params
from .records import SimOrder

__all__ = ["ROUTES", "modify_order", "place_order"]

_MAX_BATCH_PLACE = 5
_MAX_BATCH_CANCEL = 10
_SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000


def place_order(ctx: RouteContext, cmd: NewOrder) -> dict[str, object]:
    """Accept, snapshot (ACK answers show the order as accepted), then match."""
    ledger = ctx.exchange.ledger
    order = ledger.accept(cmd, ctx.now_ms)
    ack = order.to_wire()
    ledger.execute(order, ctx.now_ms)
    return ack if cmd.response_type is ResponseType.ACK else order.to_wire()


def modify_order(ctx: RouteContext, cmd: ModifyOrder) -> SimOrder:
    """``PUT /fapi/v1/order`` semantics (binance-fapi.md 6.3).

    Raises:
        SimError: -2013, -5025, -1130, -5027, filter codes, -2019.
    """
    ledger = ctx.exchange.ledger
    order = ledger.find(cmd.ref)
    if order is None or not order.is_open:
        raise SimError.of(-2013)
    if order.order_type is not OrderType.LIMIT:
        raise SimError.of(-5025)
    if cmd.side is not order.side:
        raise SimError.of(-1130, "side")
    if cmd.quantity == order.orig_qty and cmd.price == order.price:
        raise SimError.of(-5027)
    spec = ctx.exchange.config.spec(order.symbol)
    assert spec is not None
    market = ledger.symbol_market(order.symbol)
    check_filters(
        spec,
        side=order.side,
        order_type=OrderType.LIMIT,
        quantity=cmd.quantity,
        price=cmd.price,
        time_in_force=order.time_in_force,
        reduce_only=order.reduce_only,
        mark=market.price,
        good_till_date=order.good_till_date or None,
    )
    opposite = market.book().side(order.side)
    crosses = bool(opposite) and within(order.side, cmd.price, opposite[0].price)
    if cmd.quantity <= order.executed_qty or (order.time_in_force is TimeInForce.GTX and crosses):
        return ledger.cancel(OrderRef(symbol=order.symbol, order_id=order.order_id), ctx.now_ms)
    trial = attrs.evolve(order, price=cmd.price, orig_qty=cmd.quantity)
    ensure_margin(ledger, [trial], without=order)
    ledger.amend(order, cmd.price, cmd.quantity, ctx.now_ms)
    return order


def _json_list(raw: str, name: str) -> list[object]:
    """A JSON array parameter, numbers kept as their literal text."""
    try:
        value = json.loads(raw, parse_float=str, parse_int=str)
    except ValueError:
        raise SimError.of(-1130, name) from None
    if not isinstance(value, list):
        raise SimError.of(-1130, name)
    return value


def _item_params(item: object, name: str) -> Params:
    if not isinstance(item, dict):
        raise SimError.of(-1130, name)
    values: dict[str, str] = {}
    for key, value in item.items():
        if isinstance(value, bool):
            values[str(key)] = "true" if value else "false"
        elif value is not None:
            values[str(key)] = str(value)
    return Params(values)


def new_order(ctx: RouteContext) -> object:
    """``POST /fapi/v1/order``."""
    return place_order(ctx, parse_new_order(ctx.params, ctx.exchange.config))


def check_order(ctx: RouteContext) -> object:
    """``POST /fapi/v1/order/test``: every check of a new order, nothing stored."""
    cmd = parse_new_order(ctx.params, ctx.exchange.config)
    check_new_order(ctx.exchange.ledger, cmd, ctx.now_ms)
    return {}


def new_batch(ctx: RouteContext) -> object:
    """``POST /fapi/v1/batchOrders``: up to five, answered in request order."""
    items = _json_list(ctx.params.require("batchOrders"), "batchOrders")
    if not 0 < len(items) <= _MAX_BATCH_PLACE:
        raise SimError.of(-4082)
    results: list[object] = []
    for item in items:
        try:
            cmd = parse_new_order(_item_params(item, "batchOrders"), ctx.exchange.config)
            results.append(place_order(ctx, cmd))
        except SimError as exc:
            results.append(exc.to_wire())
    return results


def modify(ctx: RouteContext) -> object:
    """``PUT /fapi/v1/order``."""
    return modify_order(ctx, parse_modify(ctx.params, ctx.exchange.config)).to_wire()


def modify_batch(ctx: RouteContext) -> object:
    """``PUT /fapi/v1/batchOrders``."""
    items = _json_list(ctx.params.require("batchOrders"), "batchOrders")
    if not 0 < len(items) <= _MAX_BATCH_PLACE:
        raise SimError.of(-4082)
    results: list[object] = []
    for item in items:
        try:
            cmd = parse_modify(_item_params(item, "batchOrders"), ctx.exchange.config)
            results.append(modify_order(ctx, cmd).to_wire())
        except SimError as exc:
            results.append(exc.to_wire())
    return results


def cancel(ctx: RouteContext) -> object:
    """``DELETE /fapi/v1/order``."""
    ref = parse_ref(ctx.params, ctx.exchange.config)
    return ctx.exchange.ledger.cancel(ref, ctx.now_ms).to_wire()


def cancel_batch(ctx: RouteContext) -> object:
    """``DELETE /fapi/v1/batchOrders``: by ``orderIdList`` or ``origClientOrderIdList``."""
    spec = parse_symbol(ctx.params, ctx.exchange.config)
    assert spec is not None
    ids = ctx.params.text("orderIdList")
    client_ids = ctx.params.text("origClientOrderIdList")
    if ids is None and client_ids is None:
        raise SimError.of(-1102, "orderIdList")
    refs: list[OrderRef] = []
    if ids is not None:
        for raw in _json_list(ids, "orderIdList"):
            if not str(raw).isdigit():
                raise SimError.of(-1130, "orderIdList")
            refs.append(OrderRef(symbol=spec.symbol, order_id=int(str(raw))))
    else:
        assert client_ids is not None
        refs = [
            OrderRef(symbol=spec.symbol, client_order_id=str(raw))
            for raw in _json_list(client_ids, "origClientOrderIdList")
        ]
    if not 0 < len(refs) <= _MAX_BATCH_CANCEL:
        raise SimError.of(-4082)
    results: list[object] = []
    for ref in refs:
        try:
            results.append(ctx.exchange.ledger.cancel(ref, ctx.now_ms).to_wire())
        except SimError as exc:
            results.append(exc.to_wire())
    return results


def cancel_all(ctx: RouteContext) -> object:
    """``DELETE /fapi/v1/allOpenOrders`` (algo orders have their own route)."""
    spec = parse_symbol(ctx.params, ctx.exchange.config)
    assert spec is not None
    ctx.exchange.ledger.cancel_all(spec.symbol, ctx.now_ms)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def countdown(ctx: RouteContext) -> object:
    """``POST /fapi/v1/countdownCancelAll``: arm, re-arm or (with 0) disarm."""
    spec = parse_symbol(ctx.params, ctx.exchange.config)
    assert spec is not None
    countdown_ms = ctx.params.integer("countdownTime", required=True)
    assert countdown_ms is not None
    if countdown_ms < 0:
        raise SimError.of(-1130, "countdownTime")
    ctx.exchange.ledger.set_countdown(spec.symbol, countdown_ms, ctx.now_ms)
    return {"symbol": spec.symbol, "countdownTime": str(countdown_ms)}


def query(ctx: RouteContext) -> object:
    """``GET /fapi/v1/order``."""
    ref = parse_ref(ctx.params, ctx.exchange.config)
    return ctx.exchange.ledger.query(ref, ctx.now_ms).to_wire()


def open_order(ctx: RouteContext) -> object:
    """``GET /fapi/v1/openOrder``: -2013 once the order is no longer open."""
    ref = parse_ref(ctx.params, ctx.exchange.config)
    order = ctx.exchange.ledger.find(ref)
    if order is None or not order.is_open:
        raise SimError.of(-2013)
    return order.to_wire()


def open_orders(ctx: RouteContext) -> object:
    """``GET /fapi/v1/openOrders``."""
    spec = parse_symbol(ctx.params, ctx.exchange.config, required=False)
    symbol = spec.symbol if spec is not None else None
    return [o.to_wire() for o in ctx.exchange.ledger.all_open_orders(symbol)]


def _limit(params: Params) -> int:
    limit = params.integer("limit") or 500
    if not 0 < limit <= 1000:
        raise SimError.of(-1130, "limit")
    return limit


def _window(ctx: RouteContext) -> tuple[int, int]:
    start = ctx.params.integer("startTime")
    end = ctx.params.integer("endTime")
    if start is not None and end is not None and start > end:
        raise SimError(code=-1023, msg="Start time is greater than end time.")
    if start is None and end is None:
        return ctx.now_ms - _SEVEN_DAYS_MS, ctx.now_ms
    if start is None:
        assert end is not None
        return end - _SEVEN_DAYS_MS, end
    return start, end if end is not None else start + _SEVEN_DAYS_MS


def all_orders(ctx: RouteContext) -> object:
    """``GET /fapi/v1/allOrders``: from ``orderId`` up, else the most recent."""
    spec = parse_symbol(ctx.params, ctx.exchange.config, required=False)
    ledger = ctx.exchange.ledger
    names = [spec.symbol] if spec is not None else list(ledger.orders)
    orders = [o for n in names for o in ledger.orders[n].values()]
    from_id = ctx.params.integer("orderId")
    limit = _limit(ctx.params)
    if from_id is not None:
        picked = [o for o in orders if o.order_id >= from_id][:limit]
    else:
        start, end = _window(ctx)
        picked = [o for o in orders if start <= o.time <= end][-limit:]
    return [o.to_wire() for o in picked]


def user_trades(ctx: RouteContext) -> object:
    """``GET /fapi/v1/userTrades``."""
    spec = parse_symbol(ctx.params, ctx.exchange.config)
    assert spec is not None
    order_id = ctx.params.integer("orderId")
    from_id = ctx.params.integer("fromId")
    limit = _limit(ctx.params)
    trades = [
        t
        for t in ctx.exchange.ledger.executions
        if t.symbol == spec.symbol and (order_id is None or t.order_id == order_id)
    ]
    if from_id is not None:
        picked = [t for t in trades if t.trade_id >= from_id][:limit]
    else:
        start, end = _window(ctx)
        picked = [t for t in trades if start <= t.time <= end][-limit:]
    return [t.to_wire() for t in picked]


ROUTES: Routes = {
    ("POST", "/fapi/v1/order"): new_order,
    ("POST", "/fapi/v1/order/test"): check_order,
    ("PUT", "/fapi/v1/order"): modify,
    ("DELETE", "/fapi/v1/order"): cancel,
    ("GET", "/fapi/v1/order"): query,
    ("POST", "/fapi/v1/batchOrders"): new_batch,
    ("PUT", "/fapi/v1/batchOrders"): modify_batch,
    ("DELETE", "/fapi/v1/batchOrders"): cancel_batch,
    ("DELETE", "/fapi/v1/allOpenOrders"): cancel_all,
    ("POST", "/fapi/v1/countdownCancelAll"): countdown,
    ("GET", "/fapi/v1/openOrder"): open_order,
    ("GET", "/fapi/v1/openOrders"): open_orders,
    ("GET", "/fapi/v1/allOrders"): all_orders,
    ("GET", "/fapi/v1/userTrades"): user_trades,
}
