"""Market-data routes: no key, no signature, answered from the synthetic market."""

from __future__ import annotations

from trio_fapi.protocol.numbers import fmt

from .candles import INTERVALS_MS
from .config import SymbolSpec
from .context import RouteContext, Routes
from .errors import SimError
from .market import Level, SymbolMarket
from .order_params import parse_symbol
from .records import quantized

__all__ = ["ROUTES"]

_DEPTH_LIMITS = frozenset({5, 10, 20, 50, 100, 500, 1000})
_FUNDING_EVERY_MS = 8 * 3600 * 1000
_FUNDING_RATE = "0.00010000"


def _specs(ctx: RouteContext) -> list[SymbolSpec]:
    """The ``symbol`` parameter's spec, or every spec when it is absent."""
    spec = parse_symbol(ctx.params, ctx.exchange.config, required=False)
    return [spec] if spec is not None else list(ctx.exchange.config.symbols)


def _one_or_all(ctx: RouteContext, row: list[dict[str, object]]) -> object:
    return row[0] if ctx.params.has("symbol") else row


def _market(ctx: RouteContext, spec: SymbolSpec) -> SymbolMarket:
    return ctx.exchange.ledger.symbol_market(spec.symbol)


def ping(_ctx: RouteContext) -> object:
    """``GET /fapi/v1/ping``."""
    return {}


def server_time(ctx: RouteContext) -> object:
    """``GET /fapi/v1/time``."""
    return {"serverTime": ctx.now_ms}


def exchange_info(ctx: RouteContext) -> object:
    """``GET /fapi/v1/exchangeInfo``: filters from :meth:`SymbolRules.to_wire`."""
    cfg = ctx.exchange.config
    symbols = []
    for spec in cfg.symbols:
        entry = spec.rules.to_wire()
        entry.update(
            {
                "deliveryDate": 4133404800000,
                "onboardDate": 1569398400000,
                "maintMarginPercent": "2.5000",
                "requiredMarginPercent": "5.0000",
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                "underlyingSubType": [],
                "settlePlan": 0,
                "triggerProtect": "0.0500",
                "liquidationFee": "0.012500",
                "marketTakeBound": "0.05",
                "maxMoveOrderLimit": 10000,
            }
        )
        symbols.append(entry)
    return {
        "timezone": "UTC",
        "serverTime": ctx.now_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [limit.to_wire() for limit in cfg.rate_limits],
        "exchangeFilters": [],
        "assets": [{"asset": cfg.asset, "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": symbols,
    }


def depth(ctx: RouteContext) -> object:
    """``GET /fapi/v1/depth``: the synthetic book after what the user took this step."""
    spec = parse_symbol(ctx.params, ctx.exchange.config)
    assert spec is not None
    limit = ctx.params.integer("limit") or 500
    if limit not in _DEPTH_LIMITS:
        raise SimError.of(-4021)
    book = _market(ctx, spec).book()
    tick, step = spec.rules.price_filter.tick_size, spec.rules.lot_size.step_size

    def rows(levels: tuple[Level, ...]) -> list[list[str]]:
        return [[quantized(lv.price, tick), quantized(lv.qty, step)] for lv in levels[:limit]]

    return {
        "lastUpdateId": book.update_id,
        "E": ctx.now_ms,
        "T": ctx.now_ms,
        "bids": rows(book.bids),
        "asks": rows(book.asks),
    }


def klines(ctx: RouteContext) -> object:
    """``GET /fapi/v1/klines``: candles of the price path (volume is the user's trades)."""
    spec = parse_symbol(ctx.params, ctx.exchange.config)
    assert spec is not None
    interval = ctx.params.require("interval")
    if interval not in INTERVALS_MS:
        raise SimError.of(-1120)
    limit = ctx.params.integer("limit") or 500
    if not 0 < limit <= 1500:
        raise SimError.of(-1130, "limit")
    return _market(ctx, spec).candles.klines(
        interval,
        now_ms=ctx.now_ms,
        start_ms=ctx.params.integer("startTime"),
        end_ms=ctx.params.integer("endTime"),
        limit=limit,
    )


def ticker_price(ctx: RouteContext) -> object:
    """``GET /fapi/v1/ticker/price`` and ``/fapi/v2/ticker/price``."""
    return _one_or_all(
        ctx,
        [
            {"symbol": s.symbol, "price": fmt(_market(ctx, s).price), "time": ctx.now_ms}
            for s in _specs(ctx)
        ],
    )


def book_ticker(ctx: RouteContext) -> object:
    """``GET /fapi/v1/ticker/bookTicker``."""
    rows: list[dict[str, object]] = []
    for spec in _specs(ctx):
        book = _market(ctx, spec).book()
        step = spec.rules.lot_size.step_size
        bid = book.bids[0] if book.bids else None
        ask = book.asks[0] if book.asks else None
        rows.append(
            {
                "symbol": spec.symbol,
                "bidPrice": fmt(bid.price) if bid else "0",
                "bidQty": quantized(bid.qty, step) if bid else "0",
                "askPrice": fmt(ask.price) if ask else "0",
                "askQty": quantized(ask.qty, step) if ask else "0",
                "time": ctx.now_ms,
                "lastUpdateId": book.update_id,
            }
        )
    return _one_or_all(ctx, rows)


def ticker_24hr(ctx: RouteContext) -> object:
    """``GET /fapi/v1/ticker/24hr``."""
    return _one_or_all(
        ctx,
        [
            {"symbol": s.symbol, **_market(ctx, s).candles.day_stats(ctx.now_ms)}
            for s in _specs(ctx)
        ],
    )


def premium_index(ctx: RouteContext) -> object:
    """``GET /fapi/v1/premiumIndex``: mark = index = the path's price."""
    next_funding = ctx.now_ms - ctx.now_ms % _FUNDING_EVERY_MS + _FUNDING_EVERY_MS
    rows: list[dict[str, object]] = []
    for spec in _specs(ctx):
        price = fmt(_market(ctx, spec).price)
        rows.append(
            {
                "symbol": spec.symbol,
                "markPrice": price,
                "indexPrice": price,
                "estimatedSettlePrice": price,
                "lastFundingRate": _FUNDING_RATE,
                "interestRate": "0.00010000",
                "nextFundingTime": next_funding,
                "time": ctx.now_ms,
            }
        )
    return _one_or_all(ctx, rows)


ROUTES: Routes = {
    ("GET", "/fapi/v1/ping"): ping,
    ("GET", "/fapi/v1/time"): server_time,
    ("GET", "/fapi/v1/exchangeInfo"): exchange_info,
    ("GET", "/fapi/v1/depth"): depth,
    ("GET", "/fapi/v1/klines"): klines,
    ("GET", "/fapi/v1/ticker/price"): ticker_price,
    ("GET", "/fapi/v2/ticker/price"): ticker_price,
    ("GET", "/fapi/v1/ticker/bookTicker"): book_ticker,
    ("GET", "/fapi/v1/ticker/24hr"): ticker_24hr,
    ("GET", "/fapi/v1/premiumIndex"): premium_index,
}
