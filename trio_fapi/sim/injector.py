"""Applying a :class:`~trio_fapi.sim.faults.FaultPlan` around the exchange.

:class:`FaultInjector` is the per-run state of a plan: each step's count of
matching requests, the seeded random stream, and the record of every fault it
injected. It wraps :meth:`SimulatedExchange.handle` and turns one request into
an :class:`Answer`: the response to send (maybe replaced), or :class:`Severed`
when the connection should die, plus how long to hold the answer back.

It is pure (no trio, no httpx, no I/O) so the actor can call it inline and
each front end can turn :class:`Severed` into what its wire shows: the
in-process transport raises the httpx exception a real network gives, the
loopback server closes the connection.

The exchange's own counters (``responses_by_status`` and friends) describe
what the exchange answered before any fault was applied; what the client saw
instead is in :meth:`FaultInjector.stats_json` and the injected-fault record.

The user-data stream's per-event draws (:meth:`FaultInjector.draw_event`)
come from a random stream of their own, so a seed's REST faults stay the same
whether or not a stream is connected; stream faults are recorded here too
(:meth:`FaultInjector.record_stream`), in the same list.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import final

import attrs

from trio_fapi.protocol.enums import OrderSide, OrderType

from .api import SimRequest, SimResponse, SimulatedExchange
from .errors import SimError
from .faults import (
    CANCEL_ROUTE,
    QUERY_ROUTES,
    STREAM_PATH,
    FaultKind,
    FaultPlan,
    FaultStep,
    InjectedFault,
    Route,
)
from .order_params import parse_ref
from .params import Params, merge_params
from .records import SimOrder

__all__ = ["UNKNOWN_ERROR_MSG", "Answer", "FaultInjector", "Severed"]

#: Binance's message for a request that reached the core but got no reply in
#: time: it may or may not have executed (binance-fapi.md 5.1).
UNKNOWN_ERROR_MSG = "Unknown error, please check your request or try again later."
_JSON = {"Content-Type": "application/json"}
_ORDER_ID_PARAMS = ("newClientOrderId", "origClientOrderId", "clientAlgoId")
#: Records one injected fault, with the exchange's own answer when there was one.
_Note = Callable[[FaultKind, SimResponse], None]


@final
@attrs.frozen
class Severed:
    """The connection dies without an answer.

    Attributes:
        applied: Whether the exchange acted on the request first (``False``:
            the request never arrived).
    """

    applied: bool


@final
@attrs.frozen(kw_only=True)
class Answer:
    """What goes back to the client, and when.

    Attributes:
        outcome: The response, or :class:`Severed`.
        delay_s: Extra trio seconds before the client gets it.
    """

    outcome: SimResponse | Severed
    delay_s: float = 0.0


def unknown_error_503(path: str, now_ms: int) -> SimResponse:
    """The 503 "Unknown error" answer in the captured shape, which has no ``code``.

    binance-fapi.md 5.1: ``{"timestamp": <ms>, "path": ..., "msg": "Unknown
    error, please check your request or try again later."}``. Clients must
    match on the status and the text, not on a code.
    """
    body = {"timestamp": now_ms, "path": path, "msg": UNKNOWN_ERROR_MSG}
    return SimResponse(status=503, body=_dumps(body), headers=dict(_JSON))


def truncated(response: SimResponse) -> SimResponse:
    """A 200 whose body is the first half of the real one: never valid JSON.

    Every answer the exchange sends is a JSON object or array, and no proper
    prefix of one parses.
    """
    cut = response.body[: max(1, len(response.body) // 2)]
    return SimResponse(status=200, body=cut, headers=dict(response.headers))


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _params(request: SimRequest) -> dict[str, str]:
    """The request's parameters, best effort (a malformed body counts as none)."""
    try:
        body = request.body.decode("utf-8")
    except UnicodeDecodeError:
        body = ""
    return merge_params(request.query, body)


def _json_dict(response: SimResponse) -> dict[str, object] | None:
    try:
        decoded = json.loads(response.body)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


def _error_code(response: SimResponse) -> int | None:
    body = _json_dict(response) if response.status != 200 else None
    code = body.get("code") if body is not None else None
    return code if isinstance(code, int) else None


@attrs.define(eq=False)
class FaultInjector:
    """One plan's run: counters, the random stream and the record of injected faults.

    Setting a new plan (:meth:`set_plan`) restarts step counts and the random
    stream; the record, and the counts in :meth:`stats_json` drawn from it,
    keep everything injected since the exchange started.
    """

    plan: FaultPlan | None = None
    injected: list[InjectedFault] = attrs.field(factory=list)
    _step_counts: list[int] = attrs.field(init=False)
    _rng: random.Random = attrs.field(init=False)
    _event_rng: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.set_plan(self.plan)

    def set_plan(self, plan: FaultPlan | None) -> None:
        """Start injecting ``plan`` (``None`` heals the exchange)."""
        self.plan = plan
        seed = plan.seed if plan is not None else 0
        self._step_counts = [0] * (len(plan.steps) if plan is not None else 0)
        self._rng = random.Random(seed)
        self._event_rng = random.Random(f"stream-events:{seed}")

    # -- the user-data stream -----------------------------------------------------

    def draw_event(self) -> FaultKind | None:
        """The fault for one stream event on one connection (``None``: deliver it).

        Takes one draw when the plan has stream probabilities, none otherwise.
        """
        plan = self.plan
        if plan is None or not plan.stream_draws:
            return None
        u = self._event_rng.random()
        acc = 0.0
        for kind, p in plan.stream_probabilities():
            acc += p
            if u < acc:
                return kind
        return None

    def record_stream(
        self,
        kind: FaultKind,
        now_ms: int,
        now_s: float,
        *,
        event_type: str | None = None,
        symbol: str | None = None,
        client_order_id: str | None = None,
        connection_id: int | None = None,
    ) -> None:
        """Record one stream fault (never the listen key: the path is :data:`STREAM_PATH`)."""
        self.injected.append(
            InjectedFault(
                kind=kind,
                method="WS",
                path=STREAM_PATH,
                symbol=symbol,
                client_order_id=client_order_id,
                time_s=now_s,
                server_time_ms=now_ms,
                event_type=event_type,
                connection_id=connection_id,
            )
        )

    @property
    def skew_ms(self) -> int:
        """How far the exchange's clock runs ahead (negative: behind)."""
        return self.plan.skew_ms if self.plan is not None else 0

    def stats_json(self) -> dict[str, object]:
        """The fault counters merged into ``/sim/stats``."""
        by_kind = Counter(f.kind.value for f in self.injected)
        return {
            "faults_injected": len(self.injected),
            "faults_by_kind": dict(sorted(by_kind.items())),
        }

    # -- one request ----------------------------------------------------------------

    def answer(
        self, exchange: SimulatedExchange, request: SimRequest, now_ms: int, now_s: float
    ) -> Answer:
        """Handle ``request`` at exchange time ``now_ms`` (trio time ``now_s``), with faults.

        Args:
            exchange: The exchange that applies the request.
            request: The request as it arrived.
            now_ms: The exchange's clock, skew included.
            now_s: trio's clock, for the record.
        """
        if request.path.startswith("/sim/"):
            return Answer(outcome=self._introspect(exchange, request, now_ms))
        method = request.method.upper()
        params = _params(request)
        kind, delay_s = self._choose(method, request.path, params.get("symbol") or None)

        def note(
            fault: FaultKind, response: SimResponse | None = None, client_id: str | None = None
        ) -> None:
            self._record(fault, method, request.path, params, response, client_id, now_ms, now_s)

        if kind is FaultKind.DROP:
            note(kind)
            return Answer(outcome=Severed(applied=False))
        if kind is FaultKind.CANCEL_RACE and (method, request.path) == CANCEL_ROUTE:
            exchange.advance(now_ms)
            raced = _fill_before_cancel(exchange, params, now_ms)
            if raced is not None:
                note(kind, client_id=raced.client_order_id)
        response = exchange.handle(request, now_ms)
        response = self._conditions(kind, method, request.path, response, now_ms, note)
        outcome: SimResponse | Severed
        match kind:
            case FaultKind.LOST:
                outcome = Severed(applied=True)
            case FaultKind.UNKNOWN_503:
                outcome = unknown_error_503(request.path, now_ms)
            case FaultKind.CORRUPT:
                outcome = truncated(response)
            case FaultKind.DELAY:
                note(kind, response)
                return Answer(outcome=response, delay_s=delay_s)
            case _:
                return Answer(outcome=response)
        note(kind, response)
        return Answer(outcome=outcome)

    def _choose(self, method: str, path: str, symbol: str | None) -> tuple[FaultKind | None, float]:
        """The fault for this request (a step's beats a draw's), and how late a delay answers."""
        plan = self.plan
        if plan is None:
            return None, 0.0
        drawn = self._draw(plan, (method, path))
        hit: FaultStep | None = None
        for i, step in enumerate(plan.steps):
            if step.matches(method, path, symbol):
                self._step_counts[i] += 1
                if hit is None and step.covers(self._step_counts[i]):
                    hit = step
        if hit is None:
            return drawn, plan.delay_s
        return hit.fault, hit.delay_s if hit.delay_s is not None else plan.delay_s

    def _draw(self, plan: FaultPlan, route: Route) -> FaultKind | None:
        """The seeded draw: one number per request to the plan's routes, when it has odds."""
        if not plan.draws or route not in plan.routes:
            return None
        u = self._rng.random()
        acc = 0.0
        for kind, p in plan.probabilities():
            acc += p
            if u < acc:
                return None if kind is FaultKind.CANCEL_RACE and route != CANCEL_ROUTE else kind
        return None

    def _conditions(
        self,
        kind: FaultKind | None,
        method: str,
        path: str,
        response: SimResponse,
        now_ms: int,
        note: _Note,
    ) -> SimResponse:
        """Apply the plan-wide conditions (query lag, clock skew) to an answer."""
        plan = self.plan
        if plan is None:
            return response
        if (method, path) in QUERY_ROUTES and response.status == 200:
            scripted = kind is FaultKind.QUERY_LAG
            order = _json_dict(response)
            placed = order.get("time") if order is not None else None
            lagging = isinstance(placed, int) and now_ms - placed < plan.query_lag_ms
            if scripted or lagging:
                note(FaultKind.QUERY_LAG, response)
                error = SimError.of(-2013)
                return SimResponse(
                    status=error.http_status,
                    body=_dumps(error.to_wire()),
                    headers=dict(response.headers),
                )
        if plan.skew_ms != 0 and _error_code(response) == -1021:
            note(FaultKind.SKEW, response)
        return response

    def _record(
        self,
        kind: FaultKind,
        method: str,
        path: str,
        params: dict[str, str],
        response: SimResponse | None,
        client_id: str | None,
        now_ms: int,
        now_s: float,
    ) -> None:
        if client_id is None:
            client_id = next((params[n] for n in _ORDER_ID_PARAMS if params.get(n)), None)
        if client_id is None and response is not None:
            body = _json_dict(response)
            found = body.get("clientOrderId") if body is not None else None
            client_id = found if isinstance(found, str) else None
        self.injected.append(
            InjectedFault(
                kind=kind,
                method=method,
                path=path,
                symbol=params.get("symbol") or None,
                client_order_id=client_id,
                time_s=now_s,
                server_time_ms=now_ms,
            )
        )

    def _introspect(
        self, exchange: SimulatedExchange, request: SimRequest, now_ms: int
    ) -> SimResponse:
        response = exchange.handle(request, now_ms)
        if request.method.upper() == "GET" and request.path == "/sim/stats":
            body = _json_dict(response)
            if body is not None:
                body.update(self.stats_json())
                return SimResponse(status=response.status, body=_dumps(body), headers=_JSON)
        return response


def _fill_before_cancel(
    exchange: SimulatedExchange, params: dict[str, str], now_ms: int
) -> SimOrder | None:
    """Fill the order a cancel names, as if the market traded through it just before.

    The fill is booked at the order's own limit price (the mark for other
    types) for its whole remaining quantity, through the ledger's own
    matching, against one level of liquidity placed there for the purpose.
    That matching is the aggressive kind, so the fill pays the taker fee.
    The market then returns to the price it had; a book a test pinned with
    ``set_book`` is released, as a price push releases it.

    Returns:
        The order, if it was open and is now filled (``None`` also when the
        cancel names no order the exchange could find: it refuses the cancel
        itself).
    """
    try:
        ref = parse_ref(Params(params), exchange.config)
    except SimError:
        return None
    order = exchange.ledger.find(ref)
    if order is None or not order.is_open:
        return None
    _fill_now(exchange, order, now_ms)
    return None if order.is_open else order


def _fill_now(exchange: SimulatedExchange, order: SimOrder, now_ms: int) -> None:
    ledger = exchange.ledger
    market = ledger.symbol_market(order.symbol)
    price_before = market.price
    limit = order.price if order.order_type is OrderType.LIMIT and order.price > 0 else None
    level = [(limit if limit is not None else price_before, order.remaining)]
    book = market.book()
    bids: list[tuple[Decimal, Decimal]] = [(lv.price, lv.qty) for lv in book.bids]
    asks: list[tuple[Decimal, Decimal]] = [(lv.price, lv.qty) for lv in book.asks]
    if order.side is OrderSide.BUY:
        market.set_book(bids, level, now_ms)
    else:
        market.set_book(level, asks, now_ms)
    ledger.execute(order, now_ms)
    market.set_price(price_before, now_ms)
