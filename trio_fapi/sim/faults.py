"""What the simulated exchange should get wrong: a :class:`FaultPlan`.

A plan is a frozen description, in two parts that can be combined:

- **scripted steps** (:class:`FaultStep`): "the 2nd ``POST /fapi/v1/order``
  for BTCUSDT loses its answer", for deterministic scenario tests of one
  catalogue row (faults.md part b);
- **seeded probabilities**: each request to one of :attr:`FaultPlan.routes`
  draws one number from ``random.Random(seed)`` and may get a fault, for
  randomized schedules that replay exactly for a seed (invariant I12).

Two faults are conditions of the exchange rather than per-request events:
``skew_ms`` moves the exchange's clock (signed requests then meet -1021) and
``query_lag_ms`` hides a new order from ``GET /fapi/v1/order`` for a while
(-2013 for an order that exists, faults.md row 33).

The user-data stream has its own seeded probabilities (``p_event_*``): each
event sent to each open stream connection takes one draw from a random stream
of its own, so stream faults never reshuffle the REST faults of a seed (faults.md
rows 37-41). The stream's scripted faults are actions, not plan entries:
``SimHandle.disconnect_streams()``, ``silence_streams()`` and
``expire_listen_keys()`` (see docs/sim-user-stream.md).

The plan says *what*; :class:`~trio_fapi.sim.injector.FaultInjector` keeps
the per-run state (step counters, the random stream, the record of what was
injected) and applies it around :meth:`SimulatedExchange.handle`.
"""

from __future__ import annotations

import enum
import math
from typing import final

import attrs

from trio_fapi.protocol.endpoints import ENDPOINTS

__all__ = [
    "CANCEL_ROUTE",
    "FaultKind",
    "FaultPlan",
    "FaultStep",
    "InjectedFault",
    "ORDER_ROUTES",
    "QUERY_ROUTES",
    "Route",
    "SIGNED_ROUTES",
    "STREAM_FAULTS",
    "STREAM_PATH",
]

#: ``(METHOD, path)`` of one REST endpoint.
Route = tuple[str, str]

#: Where probabilistic faults land by default: the calls that place, modify or
#: cancel orders, whose unknown outcome is the dangerous one (faults.md rows 8-19).
ORDER_ROUTES: frozenset[Route] = frozenset(
    {
        ("POST", "/fapi/v1/order"),
        ("PUT", "/fapi/v1/order"),
        ("DELETE", "/fapi/v1/order"),
        ("POST", "/fapi/v1/batchOrders"),
        ("PUT", "/fapi/v1/batchOrders"),
        ("DELETE", "/fapi/v1/batchOrders"),
        ("DELETE", "/fapi/v1/allOpenOrders"),
        ("POST", "/fapi/v1/algoOrder"),
        ("DELETE", "/fapi/v1/algoOrder"),
        ("DELETE", "/fapi/v1/algoOpenOrders"),
    }
)
#: Every SIGNED endpoint: orders plus account reads and queries.
SIGNED_ROUTES: frozenset[Route] = frozenset(
    (e.method, e.path) for e in ENDPOINTS.values() if e.signed
)
#: The only route a fill can race: cancelling one order.
CANCEL_ROUTE: Route = ("DELETE", "/fapi/v1/order")
#: The look-ups of one order that query lag hides a young order from.
QUERY_ROUTES: frozenset[Route] = frozenset(
    {("GET", "/fapi/v1/order"), ("GET", "/fapi/v1/openOrder")}
)


class FaultKind(enum.Enum):
    """One kind of fault, and what the client sees.

    The value is the name used in spec strings (``p<value>`` without the
    underscore is the probability key) and in ``/sim/stats``.
    """

    #: The request never reaches the exchange; the client cannot connect.
    DROP = "drop"
    #: The exchange applies the request; the connection then dies unanswered.
    LOST = "lost"
    #: The exchange applies the request, then answers 503 "Unknown error...".
    UNKNOWN_503 = "503unknown"
    #: The exchange applies the request; the answer comes ``delay_s`` later.
    DELAY = "delay"
    #: The exchange applies the request, then answers 200 with a truncated body.
    CORRUPT = "corrupt"
    #: The order fills at the moment its cancel arrives; the cancel gets -2011.
    #: Only ``DELETE /fapi/v1/order`` can be raced.
    CANCEL_RACE = "cancel_race"
    #: A query for an order that exists answers -2013 "Order does not exist.".
    #: Only ``GET /fapi/v1/order`` and ``GET /fapi/v1/openOrder`` lag.
    QUERY_LAG = "query_lag"
    #: A signed request met -1021 because the exchange's clock is skewed.
    SKEW = "skew"
    #: A user-data stream event never reaches one connection.
    EVENT_DROP = "evdrop"
    #: A user-data stream event reaches one connection twice in a row.
    EVENT_DUPLICATE = "evdup"
    #: A user-data stream event is held back and sent after the next one.
    EVENT_REORDER = "evreorder"
    #: A user-data stream event (and all behind it) arrives ``event_delay_s`` late.
    EVENT_DELAY = "evdelay"
    #: Every open stream connection was closed by the server.
    STREAM_DISCONNECT = "disconnect"
    #: Stream connections went half-open: no events, no pongs.
    STREAM_SILENCE = "silence"
    #: The listen key expired ahead of its time (keep-alive then gets -1125).
    KEY_EXPIRE = "keyexpire"


#: Faults of the user-data stream (never injected into a REST request).
STREAM_FAULTS: frozenset[FaultKind] = frozenset(
    {
        FaultKind.EVENT_DROP,
        FaultKind.EVENT_DUPLICATE,
        FaultKind.EVENT_REORDER,
        FaultKind.EVENT_DELAY,
        FaultKind.STREAM_DISCONNECT,
        FaultKind.STREAM_SILENCE,
        FaultKind.KEY_EXPIRE,
    }
)
#: What :attr:`InjectedFault.path` holds for a stream fault: never the URL,
#: which carries the listen key.
STREAM_PATH = "/ws"
#: Kinds a step or a probability can inject into one request.
_PER_REQUEST = frozenset(FaultKind) - {FaultKind.SKEW} - STREAM_FAULTS


def _upper_or_none(value: str | None) -> str | None:
    return value.upper() if value is not None else None


def _at_least_one(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, not {value}")


def _per_request(
    _instance: object, _attribute: attrs.Attribute[FaultKind], kind: FaultKind
) -> None:
    if kind is FaultKind.SKEW:
        raise ValueError(f"{kind.value!r} is not a per-request fault: set FaultPlan.skew_ms")
    if kind not in _PER_REQUEST:
        raise ValueError(f"{kind.value!r} is a stream fault: use p_event_* or SimHandle controls")


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, not {value!r}")


@final
@attrs.frozen(kw_only=True)
class FaultStep:
    """A scripted fault: which requests it hits, and how many times.

    The step counts the requests it matches from the moment its plan is set.
    It injects ``fault`` into matching requests number ``nth`` to
    ``nth + times - 1``. When several steps hit one request, the first in the
    plan wins; every step still counts the request.

    Attributes:
        fault: What to inject (any kind but ``SKEW``, which is a clock offset).
        method: HTTP method to match (any when ``None``).
        path: URL path to match, e.g. ``/fapi/v1/order`` (any when ``None``).
        symbol: The request's ``symbol`` parameter to match (any when ``None``).
        nth: The first matching request (1-based) that gets the fault.
        times: How many consecutive matching requests get it.
        delay_s: For ``DELAY``: this step's delay instead of the plan's.
    """

    fault: FaultKind = attrs.field(validator=_per_request)
    method: str | None = attrs.field(default=None, converter=_upper_or_none)
    path: str | None = None
    symbol: str | None = None
    nth: int = attrs.field(default=1, validator=_at_least_one)
    times: int = attrs.field(default=1, validator=_at_least_one)
    delay_s: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(_non_negative)
    )

    def matches(self, method: str, path: str, symbol: str | None) -> bool:
        """Whether a request with this method, path and symbol is one this step counts."""
        return (
            (self.method is None or self.method == method.upper())
            and (self.path is None or self.path == path)
            and (self.symbol is None or self.symbol == symbol)
        )

    def covers(self, count: int) -> bool:
        """Whether the ``count``-th matching request gets the fault."""
        return self.nth <= count < self.nth + self.times


def _probability(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{attribute.name} must be a probability in [0, 1], not {value!r}")


def _non_negative_int(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, not {value!r}")


def _steps(value: tuple[FaultStep, ...] | list[FaultStep]) -> tuple[FaultStep, ...]:
    return tuple(value)


def _routes(value: frozenset[Route] | set[Route]) -> frozenset[Route]:
    return frozenset((method.upper(), path) for method, path in value)


@final
@attrs.frozen(kw_only=True)
class FaultPlan:
    """Faults for one simulated exchange: scripted steps, seeded draws, clock and lag.

    Every request to one of :attr:`routes` takes exactly one draw from
    ``random.Random(seed)`` whenever any probability is non-zero, so the same
    seed and the same request sequence give the same faults. The draw picks
    at most one fault, in the order drop, lost, 503unknown, delay, corrupt,
    cancel race (the probabilities must sum to at most 1). A scripted step
    that hits the request replaces the drawn fault, but the draw is still
    taken, so adding a step does not reshuffle the random faults elsewhere.

    Stream events draw from a second stream seeded from the same ``seed``:
    one draw per event per open connection (in connection order) whenever a
    ``p_event_*`` is non-zero, picking at most one of drop, duplicate,
    reorder, delay (these four must also sum to at most 1).

    Attributes:
        steps: Scripted faults, checked in order.
        seed: Seeds the per-request draws.
        p_drop: Probability a request never reaches the exchange.
        p_lost: Probability it is applied and its answer lost.
        p_503_unknown: Probability it is applied and answered 503 "Unknown error".
        p_delay: Probability it is applied and answered ``delay_s`` late.
        p_corrupt: Probability it is applied and answered 200 with a truncated body.
        p_cancel_race: Probability that a ``DELETE /fapi/v1/order`` for an open
            order finds it filled the moment the cancel arrives (other routes
            ignore this share of the draw).
        delay_s: How late (trio seconds) a delayed answer comes; longer than
            the client's own deadline (the engine's default is 10 s).
        skew_ms: Added to the exchange's clock: positive runs it ahead, so
            signed requests from a client that has not measured it look late
            (-1021 "outside of the recvWindow"), negative behind ("1000ms
            ahead"). ``GET /fapi/v1/time`` tells the skewed time, so a client
            that re-measures recovers.
        query_lag_ms: For this long after an order was placed (exchange time),
            ``GET /fapi/v1/order`` and ``GET /fapi/v1/openOrder`` for it answer
            -2013 "Order does not exist.".
        routes: The ``(METHOD, path)`` pairs the probabilities apply to;
            :data:`ORDER_ROUTES` by default, :data:`SIGNED_ROUTES` to include reads.
        p_event_drop: Probability a stream event is lost to one connection
            (the client must recover it by REST reconciliation).
        p_event_dup: Probability a stream event reaches one connection twice.
        p_event_reorder: Probability a stream event is held back and sent
            right after the connection's next event.
        p_event_delay: Probability a stream event reaches one connection
            ``event_delay_s`` late; events behind it wait too, as on one socket.
        event_delay_s: How late (trio seconds) a delayed stream event arrives.
    """

    steps: tuple[FaultStep, ...] = attrs.field(default=(), converter=_steps)
    seed: int = 0
    p_drop: float = attrs.field(default=0.0, validator=_probability)
    p_lost: float = attrs.field(default=0.0, validator=_probability)
    p_503_unknown: float = attrs.field(default=0.0, validator=_probability)
    p_delay: float = attrs.field(default=0.0, validator=_probability)
    p_corrupt: float = attrs.field(default=0.0, validator=_probability)
    p_cancel_race: float = attrs.field(default=0.0, validator=_probability)
    delay_s: float = attrs.field(default=30.0, validator=_non_negative)
    skew_ms: int = 0
    query_lag_ms: int = attrs.field(default=0, validator=_non_negative_int)
    routes: frozenset[Route] = attrs.field(default=ORDER_ROUTES, converter=_routes)
    p_event_drop: float = attrs.field(default=0.0, validator=_probability)
    p_event_dup: float = attrs.field(default=0.0, validator=_probability)
    p_event_reorder: float = attrs.field(default=0.0, validator=_probability)
    p_event_delay: float = attrs.field(default=0.0, validator=_probability)
    event_delay_s: float = attrs.field(default=5.0, validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        total = sum(p for _, p in self.probabilities())
        if total > 1.0 + 1e-9:
            raise ValueError(f"the fault probabilities sum to {total:g}, more than 1")
        stream = sum(p for _, p in self.stream_probabilities())
        if stream > 1.0 + 1e-9:
            raise ValueError(f"the stream event probabilities sum to {stream:g}, more than 1")

    @classmethod
    def scripted(cls, *steps: FaultStep, delay_s: float = 30.0) -> FaultPlan:
        """A plan of scripted steps only.

        Args:
            steps: The steps, checked in order.
            delay_s: The delay of ``DELAY`` steps that do not set their own.
        """
        return cls(steps=steps, delay_s=delay_s)

    def probabilities(self) -> tuple[tuple[FaultKind, float], ...]:
        """The per-request probabilities, in the order a draw walks them."""
        return (
            (FaultKind.DROP, self.p_drop),
            (FaultKind.LOST, self.p_lost),
            (FaultKind.UNKNOWN_503, self.p_503_unknown),
            (FaultKind.DELAY, self.p_delay),
            (FaultKind.CORRUPT, self.p_corrupt),
            (FaultKind.CANCEL_RACE, self.p_cancel_race),
        )

    @property
    def draws(self) -> bool:
        """Whether requests to :attr:`routes` take a random draw."""
        return any(p > 0 for _, p in self.probabilities())

    def stream_probabilities(self) -> tuple[tuple[FaultKind, float], ...]:
        """The per-event stream probabilities, in the order a draw walks them."""
        return (
            (FaultKind.EVENT_DROP, self.p_event_drop),
            (FaultKind.EVENT_DUPLICATE, self.p_event_dup),
            (FaultKind.EVENT_REORDER, self.p_event_reorder),
            (FaultKind.EVENT_DELAY, self.p_event_delay),
        )

    @property
    def stream_draws(self) -> bool:
        """Whether stream events take a random draw."""
        return any(p > 0 for _, p in self.stream_probabilities())


@final
@attrs.frozen(kw_only=True)
class InjectedFault:
    """One fault the exchange injected, for tests to assert on.

    A stream fault has ``method`` ``"WS"`` and ``path`` :data:`STREAM_PATH`
    (never the stream's URL: it carries the listen key).

    Attributes:
        kind: What was injected.
        method: The request's HTTP method (``"WS"`` for stream faults).
        path: The request's URL path (:data:`STREAM_PATH` for stream faults).
        symbol: The request's ``symbol`` parameter, or the event's symbol.
        client_order_id: The order's client id, if the request named one or
            the exchange's answer carried one; for a stream event, the order's
            (``c``) or the algo order's (``caid``).
        time_s: trio's clock when the request was handled.
        server_time_ms: The exchange's clock (epoch ms, skew included) then.
        event_type: For a per-event stream fault, the event's ``e``.
        connection_id: For a per-event stream fault, the connection it hit
            (numbered from 1 in the order connections opened).
    """

    kind: FaultKind
    method: str
    path: str
    symbol: str | None
    client_order_id: str | None
    time_s: float
    server_time_ms: int
    event_type: str | None = None
    connection_id: int | None = None
