"""Algo (conditional) order routes, since 2025-12-09 the only way to place stops."""

from __future__ import annotations

from .context import RouteContext, Routes
from .errors import SimError
from .order_params import parse_algo_order, parse_symbol

__all__ = ["ROUTES"]

_SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000


def _ids(ctx: RouteContext) -> tuple[int | None, str | None]:
    algo_id = ctx.params.integer("algoId")
    client_id = ctx.params.text("clientAlgoId")
    if algo_id is None and client_id is None:
        raise SimError(
            code=-1102,
            msg="Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!",
        )
    return algo_id, client_id


def new_algo(ctx: RouteContext) -> object:
    """``POST /fapi/v1/algoOrder``."""
    cmd = parse_algo_order(ctx.params, ctx.exchange.config)
    return ctx.exchange.algos.place(cmd, ctx.now_ms).to_wire()


def query_algo(ctx: RouteContext) -> object:
    """``GET /fapi/v1/algoOrder``."""
    algo = ctx.exchange.algos.find(*_ids(ctx))
    if algo is None:
        raise SimError.of(-2013)
    return algo.to_wire()


def cancel_algo(ctx: RouteContext) -> object:
    """``DELETE /fapi/v1/algoOrder``."""
    algo = ctx.exchange.algos.cancel(*_ids(ctx), ctx.now_ms)
    return {
        "algoId": algo.algo_id,
        "clientAlgoId": algo.client_algo_id,
        "code": "200",
        "msg": "success",
    }


def open_algos(ctx: RouteContext) -> object:
    """``GET /fapi/v1/openAlgoOrders``."""
    spec = parse_symbol(ctx.params, ctx.exchange.config, required=False)
    symbol = spec.symbol if spec is not None else None
    return [a.to_wire() for a in ctx.exchange.algos.open_algos(symbol)]


def all_algos(ctx: RouteContext) -> object:
    """``GET /fapi/v1/allAlgoOrders``: the last seven days unless told otherwise."""
    spec = parse_symbol(ctx.params, ctx.exchange.config)
    assert spec is not None
    start = ctx.params.integer("startTime")
    end = ctx.params.integer("endTime")
    start = start if start is not None else ctx.now_ms - _SEVEN_DAYS_MS
    end = end if end is not None else ctx.now_ms
    from_id = ctx.params.integer("algoId")
    limit = ctx.params.integer("limit") or 100
    rows = [
        a
        for a in ctx.exchange.algos.algos.values()
        if a.cmd.symbol == spec.symbol
        and (a.algo_id >= from_id if from_id is not None else start <= a.create_time <= end)
    ]
    return [a.to_wire() for a in rows[:limit]]


def cancel_all_algos(ctx: RouteContext) -> object:
    """``DELETE /fapi/v1/algoOpenOrders``."""
    spec = parse_symbol(ctx.params, ctx.exchange.config)
    assert spec is not None
    ctx.exchange.algos.cancel_all(spec.symbol, ctx.now_ms)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


ROUTES: Routes = {
    ("POST", "/fapi/v1/algoOrder"): new_algo,
    ("GET", "/fapi/v1/algoOrder"): query_algo,
    ("DELETE", "/fapi/v1/algoOrder"): cancel_algo,
    ("GET", "/fapi/v1/openAlgoOrders"): open_algos,
    ("GET", "/fapi/v1/allAlgoOrders"): all_algos,
    ("DELETE", "/fapi/v1/algoOpenOrders"): cancel_all_algos,
}
