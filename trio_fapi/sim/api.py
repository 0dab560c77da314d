"""The exchange's front door: one request in, one Binance-shaped response out.

:meth:`SimulatedExchange.handle` is pure and synchronous: given the request
and the server time it advances the market to that time, charges the rate
limits, authenticates, runs the route and encodes the answer. Both front ends
(the in-process httpx transport and the loopback HTTP server) call it from the
simulator actor, so they behave identically.

Authentication follows binance-fapi.md section 4: the ``X-MBX-APIKEY`` header,
then ``timestamp`` / ``recvWindow`` against the server clock, then the HMAC of
the exact bytes sent (query string, then form body, each without its
``signature=`` pair) computed with the connector's own signing helper.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import final

import attrs
import httpx

from trio_fapi.actors._signing import sign_payload
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.protocol.endpoints import Endpoint, endpoint_for
from trio_fapi.protocol.numbers import fmt, to_decimal

from .account_routes import ROUTES as ACCOUNT_ROUTES
from .algo import AlgoBook
from .algo_routes import ROUTES as ALGO_ROUTES
from .config import SimConfig
from .context import RouteContext, Routes
from .errors import SimError
from .ledger import Ledger
from .listen_keys import ListenKeys
from .market import Market
from .order_routes import ROUTES as ORDER_ROUTES
from .params import Params, merge_params, strip_signature
from .public_routes import ROUTES as PUBLIC_ROUTES
from .rates import RateLimiter
from .records import money

__all__ = ["SimRequest", "SimResponse", "SimStats", "SimulatedExchange"]

ROUTES: Routes = {**PUBLIC_ROUTES, **ORDER_ROUTES, **ACCOUNT_ROUTES, **ALGO_ROUTES}
_DEFAULT_RECV_WINDOW_MS = 5000
_AHEAD_TOLERANCE_MS = 1000
_FORM = "application/x-www-form-urlencoded"


def _lower_keys(headers: Mapping[str, str]) -> Mapping[str, str]:
    return {k.lower(): v for k, v in headers.items()}


@final
@attrs.frozen(kw_only=True)
class SimRequest:
    """An HTTP request as the exchange sees it: raw query and body bytes.

    Header names are lower-cased on construction. The query, body and headers
    stay out of the repr: they carry the API key and the signature.
    """

    method: str
    path: str
    query: str = attrs.field(default="", repr=False)
    body: bytes = attrs.field(default=b"", repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_lower_keys, repr=False)

    @classmethod
    async def from_httpx(cls, request: httpx.Request) -> SimRequest:
        """The exchange's view of an httpx request (reads its body)."""
        return cls(
            method=request.method,
            path=request.url.path,
            query=request.url.query.decode("ascii", "replace"),
            body=await request.aread(),
            headers=dict(request.headers.items()),
        )


@final
@attrs.frozen(kw_only=True)
class SimResponse:
    """An HTTP response: status, JSON body bytes, headers."""

    status: int
    body: bytes
    headers: Mapping[str, str] = attrs.field(factory=dict)

    def json(self) -> object:
        """The decoded body."""
        return json.loads(self.body)

    def to_httpx(self, request: httpx.Request) -> httpx.Response:
        """This answer as the httpx response to ``request``."""
        return httpx.Response(
            status_code=self.status,
            headers=list(self.headers.items()),
            content=self.body,
            request=request,
        )


def _encode(value: object) -> bytes:
    def refuse(obj: object) -> object:
        raise TypeError(f"{type(obj).__name__} must be formatted before it is sent")

    return json.dumps(value, separators=(",", ":"), default=refuse).encode()


@attrs.define(eq=False)
class SimStats:
    """Counters for ``/sim/stats``."""

    requests_by_path: Counter[str] = attrs.field(factory=Counter)
    responses_by_status: Counter[int] = attrs.field(factory=Counter)
    errors_by_code: Counter[int] = attrs.field(factory=Counter)


@attrs.define(eq=False)
class SimulatedExchange:
    """The whole simulated exchange, driven by :meth:`handle` and :meth:`advance`."""

    config: SimConfig
    start_ms: int
    market: Market = attrs.field(init=False)
    ledger: Ledger = attrs.field(init=False)
    algos: AlgoBook = attrs.field(init=False)
    rates: RateLimiter = attrs.field(init=False)
    listen_keys: ListenKeys = attrs.field(init=False)
    stats: SimStats = attrs.field(init=False, factory=SimStats)
    now_ms: int = attrs.field(init=False)
    _credentials: Credentials = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        cfg = self.config
        self.now_ms = self.start_ms
        self.market = Market(cfg, self.start_ms)
        self.ledger = Ledger(cfg, self.market)
        self.algos = AlgoBook(self.ledger)
        self.rates = RateLimiter.from_limits(cfg.rate_limits, cfg.ban_policy)
        self.listen_keys = ListenKeys(ttl_ms=cfg.listen_key_ttl_ms, seed=cfg.seed)
        self._credentials = Credentials(api_key=cfg.api_key, api_secret=cfg.api_secret)

    # -- time and market ----------------------------------------------------------

    def advance(self, now_ms: int) -> None:
        """Run the market, triggers, resting fills and timers up to ``now_ms``.

        Time never runs backwards: an earlier ``now_ms`` is treated as now.
        """
        while (at := self.market.due(now_ms)) is not None:
            self.market.step()
            self._react(at)
        now = max(now_ms, self.now_ms)
        self.ledger.check_timers(now)
        self.now_ms = now

    def _react(self, at_ms: int) -> None:
        self.algos.on_step(at_ms)
        self.ledger.on_step(at_ms)

    def push(self, change: Callable[[int], None], now_ms: int) -> None:
        """Apply a market change at ``now_ms``; stops, resting orders and timers react.

        ``change`` gets the exchange's now (after :meth:`advance`). The paper
        broker pushes its quotes and books through here, as ``set_price`` does.
        """
        self.advance(now_ms)
        change(self.now_ms)
        self._react(self.now_ms)

    def set_price(self, symbol: str, price: Decimal | str | int, now_ms: int) -> None:
        """Push a price; stops, resting orders and timers react at once.

        Raises:
            SimError: -1121 if the symbol is not listed.
        """
        market = self.ledger.symbol_market(symbol)
        value = to_decimal(price, field="price")
        self.push(lambda now: market.set_price(value, now), now_ms)

    def set_book(
        self,
        symbol: str,
        bids: list[tuple[Decimal, Decimal]],
        asks: list[tuple[Decimal, Decimal]],
        now_ms: int,
    ) -> None:
        """Push a whole book (kept until the next :meth:`set_price`)."""
        market = self.ledger.symbol_market(symbol)
        self.push(lambda now: market.set_book(bids, asks, now), now_ms)

    # -- requests -----------------------------------------------------------------

    def handle(self, request: SimRequest, now_ms: int) -> SimResponse:
        """Answer one request at server time ``now_ms``."""
        self.advance(now_ms)
        now = self.now_ms
        method = request.method.upper()
        if request.path.startswith("/sim/"):
            return self._sim_route(method, request.path)
        self.stats.requests_by_path[request.path] += 1
        endpoint = endpoint_for(method, request.path)
        handler = ROUTES.get((method, request.path))
        if endpoint is None or handler is None:
            return self._finish(404, SimError.of(-1099).to_wire(), {})
        try:
            query, form = self._sources(request)
        except SimError as exc:
            return self._finish(400, exc.to_wire(), {})
        params = Params(merge_params(query, form))
        decision = self.rates.admit(
            _weight(endpoint, params.values),
            endpoint.order_count(params.values),
            now,
            order_endpoint=endpoint.orders != 0,
        )
        headers = dict(decision.headers)
        if not decision.allowed:
            headers["Retry-After"] = str(decision.retry_after_s)
            return self._finish(
                decision.status, {"code": decision.code, "msg": decision.msg}, headers
            )
        try:
            self._authenticate(endpoint, request, params, query, form, now)
            body = handler(RouteContext(exchange=self, params=params, now_ms=now, request=request))
        except SimError as exc:
            return self._finish(exc.http_status, exc.to_wire(), headers)
        return self._finish(200, body, headers)

    def _sources(self, request: SimRequest) -> tuple[str, str]:
        """The raw query and the raw form body (empty unless the body is a form)."""
        content_type = request.headers.get("content-type", "")
        is_form = _FORM in content_type or (not content_type and bool(request.body))
        try:
            form = request.body.decode("utf-8") if is_form else ""
        except UnicodeDecodeError:
            raise SimError.of(-1100, "body", "utf-8 form data") from None
        return request.query, form

    def _authenticate(
        self,
        endpoint: Endpoint,
        request: SimRequest,
        params: Params,
        query: str,
        form: str,
        now_ms: int,
    ) -> None:
        cfg = self.config
        if endpoint.security.needs_key and request.headers.get("x-mbx-apikey") != cfg.api_key:
            raise SimError.of(-2015, http_status=401)
        if not endpoint.signed:
            return
        signature = params.require("signature")
        timestamp = params.integer("timestamp", required=True)
        recv_window = params.integer("recvWindow")
        assert timestamp is not None
        if recv_window is None:
            recv_window = _DEFAULT_RECV_WINDOW_MS
        elif not 0 < recv_window <= cfg.recv_window_max_ms:
            raise SimError(
                code=-1130,
                msg=f"Param 'recvWindow' must be in (0, {cfg.recv_window_max_ms}].",
            )
        if timestamp >= now_ms + _AHEAD_TOLERANCE_MS:
            raise SimError(
                code=-1021, msg="Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now_ms - timestamp > recv_window:
            raise SimError.of(-1021)
        payload = strip_signature(query) + strip_signature(form)
        if sign_payload(self._credentials, payload).lower() != signature.lower():
            raise SimError.of(-1022)

    def _finish(self, status: int, body: object, headers: dict[str, str]) -> SimResponse:
        self.stats.responses_by_status[status] += 1
        if status != 200 and isinstance(body, dict) and isinstance(body.get("code"), int):
            self.stats.errors_by_code[int(body["code"])] += 1
        if status == 200 and isinstance(body, list):
            for item in body:
                if isinstance(item, dict) and isinstance(item.get("code"), int) and "msg" in item:
                    self.stats.errors_by_code[int(item["code"])] += 1
        headers["Content-Type"] = "application/json"
        return SimResponse(status=status, body=_encode(body), headers=headers)

    # -- introspection ------------------------------------------------------------

    def _sim_route(self, method: str, path: str) -> SimResponse:
        if method == "GET" and path == "/sim/stats":
            return SimResponse(status=200, body=_encode(self.stats_json()), headers=_JSON)
        if method == "GET" and path == "/sim/ledger":
            return SimResponse(status=200, body=_encode(self.ledger_json()), headers=_JSON)
        return SimResponse(status=404, body=_encode(SimError.of(-1099).to_wire()), headers=_JSON)

    def stats_json(self) -> dict[str, object]:
        """What ``GET /sim/stats`` returns."""
        s = self.stats
        return {
            "requests_by_path": dict(s.requests_by_path),
            "orders_accepted": self.ledger.orders_accepted,
            "algo_orders_accepted": self.algos.accepted,
            "responses_by_status": {str(k): v for k, v in sorted(s.responses_by_status.items())},
            "errors_by_code": {str(k): v for k, v in sorted(s.errors_by_code.items())},
            "rate_limited": self.rates.http_429,
            "http_429": self.rates.http_429,
            "http_418": self.rates.http_418,
            "ip_bans": self.rates.bans,
            "banned_until_ms": self.rates.banned_until_ms(),
        }

    def ledger_json(self) -> dict[str, object]:
        """What ``GET /sim/ledger`` returns: every order, algo order and position."""
        orders = [o for by_id in self.ledger.orders.values() for o in by_id.values()]
        orders.sort(key=lambda o: (o.time, o.symbol, o.order_id))
        account = self.ledger.account
        return {
            "orders": [o.to_wire() for o in orders],
            "algoOrders": [a.to_wire() for a in self.algos.algos.values()],
            "executions": len(self.ledger.executions),
            "walletBalance": money(account.wallet),
            "positions": [
                {
                    "symbol": p.symbol,
                    "positionSide": p.side.value,
                    "positionAmt": fmt(p.amount),
                    "entryPrice": money(p.entry_price),
                }
                for p in account.positions.values()
                if p.amount != 0
            ],
        }


_JSON = {"Content-Type": "application/json"}


def _weight(endpoint: Endpoint, params: Mapping[str, str]) -> int:
    """The endpoint's weight; a malformed ``limit`` is charged as the default."""
    try:
        return endpoint.weight(params)
    except ValueError:
        return endpoint.weight({k: v for k, v in params.items() if k != "limit"})
