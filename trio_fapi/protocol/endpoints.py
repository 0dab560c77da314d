"""Every REST endpoint the engine or the simulated exchange knows, with its cost.

Weights follow binance-fapi.md section 2 (official docs, cross-checked with the
2026 SDK). A weight is a function of the parameters because several endpoints
charge by ``limit`` or by whether ``symbol`` is present. ``orders`` is what a call
costs against the account's ORDERS windows (a batch of up to 5 costs 5).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import final

import attrs

__all__ = ["ENDPOINTS", "Endpoint", "Security", "endpoint", "endpoint_for"]

Params = Mapping[str, str]


class Security(enum.Enum):
    """What a call must carry (binance-fapi.md section 2)."""

    NONE = "NONE"
    MARKET_DATA = "MARKET_DATA"  # API key header
    USER_STREAM = "USER_STREAM"  # API key header
    SIGNED = "SIGNED"  # API key + timestamp + signature (TRADE and USER_DATA)

    @property
    def needs_key(self) -> bool:
        """Whether the ``X-MBX-APIKEY`` header is required."""
        return self is not Security.NONE


def _flat(weight: int) -> Callable[[Params], int]:
    return lambda _params: weight


def _with_symbol(with_symbol: int, without: int) -> Callable[[Params], int]:
    return lambda params: with_symbol if params.get("symbol") else without


def _limit(params: Params) -> int:
    """The ``limit`` parameter, or Binance's default of 500 when absent or malformed."""
    try:
        return int(params.get("limit", "500"))
    except ValueError:
        return 500


def _depth_weight(params: Params) -> int:
    limit = _limit(params)
    if limit <= 50:
        return 2
    if limit <= 100:
        return 5
    if limit <= 500:
        return 10
    return 20


def _klines_weight(params: Params) -> int:
    limit = _limit(params)
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    if limit <= 1000:
        return 5
    return 10


@final
@attrs.frozen(kw_only=True)
class Endpoint:
    """One REST endpoint."""

    name: str
    method: str
    path: str
    security: Security
    weight_fn: Callable[[Params], int] = attrs.field(repr=False)
    #: Cost against the ORDERS windows. A batch costs 5 whatever its size: Binance
    #: counts it as 5 in the 10-second window (and 1 in the minute window, which
    #: the engine over-counts as 5 to keep one cost per request: conservative).
    orders: int = 0
    #: Safe to resend after an unknown outcome (reads, and idempotent deletes of keys).
    idempotent: bool = False

    def weight(self, params: Params) -> int:
        """IP weight of this call with these parameters."""
        return self.weight_fn(params)

    def order_count(self, params: Params) -> int:
        """Cost against the account's ORDERS windows."""
        del params  # no order cost depends on the parameters today
        return self.orders

    @property
    def signed(self) -> bool:
        """Whether the call needs a timestamp and a signature."""
        return self.security is Security.SIGNED


def _ep(
    name: str,
    method: str,
    path: str,
    security: Security,
    weight: int | Callable[[Params], int],
    *,
    orders: int = 0,
    idempotent: bool | None = None,
) -> Endpoint:
    fn = _flat(weight) if isinstance(weight, int) else weight
    return Endpoint(
        name=name,
        method=method,
        path=path,
        security=security,
        weight_fn=fn,
        orders=orders,
        idempotent=(method == "GET") if idempotent is None else idempotent,
    )


_N, _M, _U, _S = Security.NONE, Security.MARKET_DATA, Security.USER_STREAM, Security.SIGNED

_ALL = [
    # Market data.
    _ep("ping", "GET", "/fapi/v1/ping", _N, 1),
    _ep("time", "GET", "/fapi/v1/time", _N, 1),
    _ep("exchange_info", "GET", "/fapi/v1/exchangeInfo", _N, 1),
    _ep("depth", "GET", "/fapi/v1/depth", _N, _depth_weight),
    _ep("klines", "GET", "/fapi/v1/klines", _N, _klines_weight),
    _ep("ticker_price_v1", "GET", "/fapi/v1/ticker/price", _N, _with_symbol(1, 2)),
    _ep("ticker_price", "GET", "/fapi/v2/ticker/price", _N, _with_symbol(1, 2)),
    _ep("book_ticker", "GET", "/fapi/v1/ticker/bookTicker", _N, _with_symbol(2, 5)),
    _ep("ticker_24hr", "GET", "/fapi/v1/ticker/24hr", _N, _with_symbol(1, 40)),
    _ep("premium_index", "GET", "/fapi/v1/premiumIndex", _N, _with_symbol(1, 10)),
    _ep("trades", "GET", "/fapi/v1/trades", _N, 5),
    _ep("historical_trades", "GET", "/fapi/v1/historicalTrades", _M, 200),
    _ep("agg_trades", "GET", "/fapi/v1/aggTrades", _N, 20),
    _ep("funding_rate", "GET", "/fapi/v1/fundingRate", _N, 1),
    _ep("funding_info", "GET", "/fapi/v1/fundingInfo", _N, 0),
    # Trading.
    _ep("new_order", "POST", "/fapi/v1/order", _S, 0, orders=1),
    _ep("test_order", "POST", "/fapi/v1/order/test", _S, 1),
    _ep("batch_orders", "POST", "/fapi/v1/batchOrders", _S, 5, orders=5),
    _ep("modify_order", "PUT", "/fapi/v1/order", _S, 0, orders=1),
    _ep("modify_batch_orders", "PUT", "/fapi/v1/batchOrders", _S, 5, orders=5),
    _ep("cancel_order", "DELETE", "/fapi/v1/order", _S, 1),
    _ep("cancel_batch_orders", "DELETE", "/fapi/v1/batchOrders", _S, 1),
    _ep("cancel_all_orders", "DELETE", "/fapi/v1/allOpenOrders", _S, 1),
    _ep("countdown_cancel_all", "POST", "/fapi/v1/countdownCancelAll", _S, 10, idempotent=True),
    _ep("query_order", "GET", "/fapi/v1/order", _S, 1),
    _ep("open_order", "GET", "/fapi/v1/openOrder", _S, 1),
    _ep("open_orders", "GET", "/fapi/v1/openOrders", _S, _with_symbol(1, 40)),
    _ep("all_orders", "GET", "/fapi/v1/allOrders", _S, 5),
    _ep("user_trades", "GET", "/fapi/v1/userTrades", _S, 5),
    _ep("change_leverage", "POST", "/fapi/v1/leverage", _S, 1, idempotent=True),
    _ep("change_margin_type", "POST", "/fapi/v1/marginType", _S, 1, idempotent=True),
    _ep("change_position_mode", "POST", "/fapi/v1/positionSide/dual", _S, 1, idempotent=True),
    _ep("position_mode", "GET", "/fapi/v1/positionSide/dual", _S, 30),
    # Account and positions.
    _ep("position_risk_v2", "GET", "/fapi/v2/positionRisk", _S, 5),
    _ep("position_risk", "GET", "/fapi/v3/positionRisk", _S, 5),
    _ep("balance_v2", "GET", "/fapi/v2/balance", _S, 5),
    _ep("balance", "GET", "/fapi/v3/balance", _S, 5),
    _ep("account_v2", "GET", "/fapi/v2/account", _S, 5),
    _ep("account", "GET", "/fapi/v3/account", _S, 5),
    _ep("order_rate_limit", "GET", "/fapi/v1/rateLimit/order", _S, 1),
    _ep("account_config", "GET", "/fapi/v1/accountConfig", _S, 5),
    _ep("symbol_config", "GET", "/fapi/v1/symbolConfig", _S, 5),
    _ep("commission_rate", "GET", "/fapi/v1/commissionRate", _S, 20),
    _ep("income", "GET", "/fapi/v1/income", _S, 30),
    _ep("leverage_bracket", "GET", "/fapi/v1/leverageBracket", _S, 1),
    # User data stream.
    _ep("new_listen_key", "POST", "/fapi/v1/listenKey", _U, 1, idempotent=True),
    _ep("keepalive_listen_key", "PUT", "/fapi/v1/listenKey", _U, 1, idempotent=True),
    _ep("close_listen_key", "DELETE", "/fapi/v1/listenKey", _U, 1, idempotent=True),
    # Algo (conditional) orders.
    _ep("new_algo_order", "POST", "/fapi/v1/algoOrder", _S, 0, orders=1),
    _ep("query_algo_order", "GET", "/fapi/v1/algoOrder", _S, 1),
    _ep("cancel_algo_order", "DELETE", "/fapi/v1/algoOrder", _S, 1),
    _ep("open_algo_orders", "GET", "/fapi/v1/openAlgoOrders", _S, _with_symbol(1, 40)),
    _ep("all_algo_orders", "GET", "/fapi/v1/allAlgoOrders", _S, 5),
    _ep("cancel_all_algo_orders", "DELETE", "/fapi/v1/algoOpenOrders", _S, 1),
]

#: By name.
ENDPOINTS: Mapping[str, Endpoint] = MappingProxyType({e.name: e for e in _ALL})
_BY_ROUTE: Mapping[tuple[str, str], Endpoint] = MappingProxyType(
    {(e.method, e.path): e for e in _ALL}
)


def endpoint(name: str) -> Endpoint:
    """The endpoint called ``name``; raises ``KeyError`` for a typo (a bug)."""
    return ENDPOINTS[name]


def endpoint_for(method: str, path: str) -> Endpoint | None:
    """The endpoint served at ``method path``, if any."""
    return _BY_ROUTE.get((method.upper(), path))
