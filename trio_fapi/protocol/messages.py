"""Messages between actors: commands (imperative), events (past tense), replies.

All are frozen, keyword-only attrs classes. A reply target is anything with a
``send(value)`` method that never blocks and never raises when the requester has
gone away (the actors use a one-shot slot); it is excluded from equality and
repr so messages compare and print by content.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Protocol, TypeVar, final

import attrs

from .endpoints import Endpoint
from .enums import OrderSide, OrderStatus, OrderType
from .errors import EngineError
from .filters import RateLimit
from .ids import ClientOrderId, Symbol, VenueOrderId
from .orders import OrderRequest
from .wire import Outcome

__all__ = [
    "AccountChanged",
    "AcquireWeight",
    "BatchDone",
    "CancelBatch",
    "CancelAllDone",
    "CancelAllOrders",
    "CancelOrder",
    "CancelRejected",
    "EventsDropped",
    "ExecutorEvent",
    "Lane",
    "LimiterCommand",
    "MarginCallReceived",
    "ModifyOrder",
    "OrderAmended",
    "OrderAccepted",
    "OrderCanceled",
    "OrderCommand",
    "OrderEvent",
    "OrderExpired",
    "OrderFailed",
    "OrderFilled",
    "OrderRejected",
    "OrderReply",
    "OrderSnapshot",
    "OrderSubmitted",
    "OrderSucceeded",
    "OrderUnknown",
    "PlaceBatch",
    "PlaceOrder",
    "ResetLimiter",
    "QueryOrder",
    "ReplyTo",
    "RestCall",
    "RestFailed",
    "RestOutcome",
    "RestSucceeded",
    "SetRateLimits",
    "SetShare",
    "StreamEvent",
    "StreamGap",
    "StreamResynced",
    "ThrottleKind",
    "ThrottleObserved",
    "UsageObserved",
    "WeightGranted",
    "WeightRefused",
]

T_contra = TypeVar("T_contra", contravariant=True)
T = TypeVar("T")


class ReplyTo(Protocol[T_contra]):
    """Where an answer goes. ``send`` must not block and must not raise."""

    def send(self, value: T_contra, /) -> None:
        """Deliver the answer (once)."""


class Lane(enum.IntEnum):
    """Priority lanes of the limiter, most urgent first."""

    #: Cancels, reduce-only and close-position orders, heartbeats, keepalives.
    PRIORITY = 0
    #: New orders and modifications.
    ORDER = 1
    #: Queries and market data.
    QUERY = 2


# -- limiter -------------------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class WeightGranted:
    """The limiter admitted a request; it may be sent now."""

    request_id: int
    waited_s: float


@final
@attrs.frozen(kw_only=True)
class WeightRefused:
    """The limiter will not admit the request (deadline, overload, ban, shutdown)."""

    request_id: int
    error: EngineError = attrs.field(eq=False)


@final
@attrs.frozen(kw_only=True)
class AcquireWeight:
    """Ask the limiter for room in every window this call draws on."""

    request_id: int
    weight: int
    orders: int
    lane: Lane
    strategy: str
    deadline: float  # trio clock
    reply_to: ReplyTo[WeightGranted | WeightRefused] = attrs.field(eq=False, repr=False)
    #: Wait for the turn and the room, but charge nothing (``wait_for_capacity``).
    probe: bool = False


@final
@attrs.frozen(kw_only=True)
class UsageObserved:
    """Usage headers of a response: the server's count is the authority."""

    used_weight_1m: int | None
    order_count_10s: int | None
    order_count_1m: int | None


class ThrottleKind(enum.Enum):
    """What a throttling answer says about the exchange's budget."""

    #: 429 / -1003: the IP's request-weight window is spent.
    IP_WEIGHT = "ip_weight"
    #: -1015: the account's ORDERS window is spent.
    ORDER_RATE = "order_rate"
    #: 418: the IP is banned; nothing may be sent until the ban ends.
    BANNED = "banned"
    #: 503 -1008: system-level protection; new orders back off, while cancels and
    #: risk-reducing orders are exempt.
    SERVER_BUSY = "server_busy"
    #: 5xx or a timeout: no pause, but the adaptive limits come down.
    SERVER_ERROR = "server_error"


@final
@attrs.frozen(kw_only=True)
class ThrottleObserved:
    """A throttling answer: pause the affected windows, lower adaptive limits.

    Attributes:
        kind: Which budget the answer is about.
        http_status: The HTTP status (429, 418, 503...); 0 when no answer came
            (a timeout).
        retry_after_s: The ``Retry-After`` header, when sent.
        ban_until_ms: For a 418, the server time the ban ends, read from the
            "IP banned until <epoch-ms>" message.
        window_s: For -1015, the window the message names ("per 10 SECOND").
    """

    kind: ThrottleKind
    http_status: int
    retry_after_s: float | None = None
    ban_until_ms: int | None = None
    window_s: float | None = None


@final
@attrs.frozen(kw_only=True)
class SetShare:
    """Give ``strategy`` this weight in the limiter's fair queues (default 1)."""

    strategy: str
    share: float = attrs.field(validator=attrs.validators.gt(0))


@final
@attrs.frozen(kw_only=True)
class SetRateLimits:
    """Adopt these windows (from exchangeInfo), keeping the usage already counted."""

    rate_limits: tuple[RateLimit, ...]


@final
@attrs.frozen(kw_only=True)
class ResetLimiter:
    """Forget local usage estimates and adaptive penalties (never pauses or bans)."""

    reply_to: ReplyTo[None] = attrs.field(eq=False, repr=False)


LimiterCommand = (
    AcquireWeight | UsageObserved | ThrottleObserved | SetShare | SetRateLimits | ResetLimiter
)

# -- REST pool --------------------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class RestSucceeded:
    """A 2xx answer with a JSON body."""

    request_id: int
    http_status: int
    payload: object = attrs.field(eq=False)
    elapsed_s: float


@final
@attrs.frozen(kw_only=True)
class RestFailed:
    """Anything else, classified."""

    request_id: int
    outcome: Outcome
    error: EngineError = attrs.field(eq=False)
    elapsed_s: float


RestOutcome = RestSucceeded | RestFailed


@final
@attrs.frozen(kw_only=True)
class RestCall:
    """One REST request for the pool: endpoint, parameters, and a time limit.

    Parameters are unsigned; the worker adds ``timestamp`` and ``signature`` at
    send time, so time spent queueing never causes -1021.
    """

    request_id: int
    endpoint: Endpoint
    params: tuple[tuple[str, str], ...]
    timeout_s: float
    reply_to: ReplyTo[RestOutcome] = attrs.field(eq=False, repr=False)


# -- orders -----------------------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class OrderSnapshot:
    """What the engine knows about one order at one moment."""

    symbol: Symbol
    strategy: str
    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId | None
    side: OrderSide
    order_type: OrderType
    status: OrderStatus
    quantity: Decimal | None
    price: Decimal | None
    executed_qty: Decimal
    avg_price: Decimal
    cum_quote: Decimal
    error: str | None = None
    update_time: int = 0

    @property
    def is_terminal(self) -> bool:
        """True when the order can no longer change on the exchange."""
        return self.status.is_terminal


@final
@attrs.frozen(kw_only=True)
class OrderSucceeded:
    """The request was carried out; ``order`` is the state after it."""

    order: OrderSnapshot


@final
@attrs.frozen(kw_only=True)
class OrderFailed:
    """The request failed; ``order`` is set when an order exists locally."""

    error: EngineError = attrs.field(eq=False)
    order: OrderSnapshot | None = None


OrderReply = OrderSucceeded | OrderFailed


@final
@attrs.frozen(kw_only=True)
class PlaceOrder:
    """Place a new order for ``strategy``."""

    strategy: str
    request: OrderRequest
    deadline: float
    reply_to: ReplyTo[OrderReply] = attrs.field(eq=False, repr=False)


@final
@attrs.frozen(kw_only=True)
class CancelOrder:
    """Cancel one of the strategy's orders."""

    strategy: str
    client_order_id: ClientOrderId
    deadline: float
    reply_to: ReplyTo[OrderReply] = attrs.field(eq=False, repr=False)


@final
@attrs.frozen(kw_only=True)
class QueryOrder:
    """Ask the exchange for an order's state and apply what it says."""

    strategy: str
    client_order_id: ClientOrderId
    deadline: float
    reply_to: ReplyTo[OrderReply] = attrs.field(eq=False, repr=False)


@final
@attrs.frozen(kw_only=True)
class CancelAllDone:
    """Cancel-all finished; ``orders`` are the caller's orders as they ended up."""

    orders: tuple[OrderSnapshot, ...]


@final
@attrs.frozen(kw_only=True)
class CancelAllOrders:
    """Cancel the caller's open orders of the symbol.

    When the caller owns every open order of the symbol this is one
    ``DELETE /fapi/v1/allOpenOrders``; otherwise the caller's orders are canceled
    one by one, so another strategy's orders are never touched.
    """

    strategy: str
    deadline: float
    reply_to: ReplyTo[CancelAllDone | OrderFailed] = attrs.field(eq=False, repr=False)


@final
@attrs.frozen(kw_only=True)
class ModifyOrder:
    """Change the price and quantity of one of the strategy's open LIMIT orders.

    ``PUT /fapi/v1/order``: the order keeps its ids and its fills; the new
    quantity is the total (executed included), and the order loses its place
    in the queue.
    """

    strategy: str
    client_order_id: ClientOrderId
    quantity: Decimal
    price: Decimal
    deadline: float
    reply_to: ReplyTo[OrderReply] = attrs.field(eq=False, repr=False)


@final
@attrs.frozen(kw_only=True)
class BatchDone:
    """One answer per item of a batch, in the items' order."""

    results: tuple[OrderReply, ...]


@final
@attrs.frozen(kw_only=True)
class PlaceBatch:
    """Place several orders of one symbol in ``POST /fapi/v1/batchOrders`` calls (5 each).

    Every item gets its own answer: the exchange accepts or refuses items one by
    one, and an ambiguous call leaves each of its items UNKNOWN until resolved.
    """

    strategy: str
    requests: tuple[OrderRequest, ...]
    deadline: float
    reply_to: ReplyTo[BatchDone] = attrs.field(eq=False, repr=False)


@final
@attrs.frozen(kw_only=True)
class CancelBatch:
    """Cancel several of the strategy's orders of one symbol (10 per call)."""

    strategy: str
    client_order_ids: tuple[ClientOrderId, ...]
    deadline: float
    reply_to: ReplyTo[BatchDone] = attrs.field(eq=False, repr=False)


OrderCommand = (
    PlaceOrder | CancelOrder | QueryOrder | CancelAllOrders | ModifyOrder | PlaceBatch | CancelBatch
)


@final
@attrs.frozen(kw_only=True)
class OrderSubmitted:
    """The engine took the placement and will send it (PENDING_NEW)."""

    order: OrderSnapshot


@final
@attrs.frozen(kw_only=True)
class OrderAccepted:
    """The exchange shows the order open."""

    order: OrderSnapshot


@final
@attrs.frozen(kw_only=True)
class OrderRejected:
    """The placement was refused; nothing is on the exchange."""

    order: OrderSnapshot


@final
@attrs.frozen(kw_only=True)
class OrderFilled:
    """The executed quantity grew by ``last_qty``."""

    order: OrderSnapshot
    last_qty: Decimal
    last_price: Decimal


@final
@attrs.frozen(kw_only=True)
class OrderAmended:
    """The exchange applied a modification: ``order`` carries the new price and quantity."""

    order: OrderSnapshot


@final
@attrs.frozen(kw_only=True)
class OrderCanceled:
    """The order was canceled (possibly after partial fills)."""

    order: OrderSnapshot


@final
@attrs.frozen(kw_only=True)
class OrderExpired:
    """The order expired (IOC remainder, GTD, STP, liquidity)."""

    order: OrderSnapshot


@final
@attrs.frozen(kw_only=True)
class CancelRejected:
    """A cancel was refused; the order is still open (or already done)."""

    order: OrderSnapshot
    reason: str


@final
@attrs.frozen(kw_only=True)
class OrderUnknown:
    """The outcome of a request is unknown; resolution by evidence is under way."""

    order: OrderSnapshot
    cause: str


OrderEvent = (
    OrderSubmitted
    | OrderAccepted
    | OrderRejected
    | OrderFilled
    | OrderAmended
    | OrderCanceled
    | OrderExpired
    | CancelRejected
    | OrderUnknown
)


# -- the user-data stream, as subscribers see it ------------------------------------------


@final
@attrs.frozen(kw_only=True)
class StreamGap:
    """The user-data stream is down: events may be missed until :class:`StreamResynced`.

    Order actors poll the exchange on their fallback schedule meanwhile.
    """

    reason: str
    at: float


@final
@attrs.frozen(kw_only=True)
class StreamResynced:
    """The stream is up again and every order has been reconciled by REST since the gap.

    Attributes:
        gap_s: How long the stream was down (trio seconds).
        recovered_fills: Fills found by the reconciliation, not by the stream.
    """

    gap_s: float
    recovered_fills: int


@final
@attrs.frozen(kw_only=True)
class AccountChanged:
    """An ``ACCOUNT_UPDATE``: balances and positions that changed, and why."""

    reason: str
    balances: tuple[tuple[str, Decimal], ...]
    positions: tuple[tuple[Symbol, str, Decimal], ...]
    event_time: int


@final
@attrs.frozen(kw_only=True)
class MarginCallReceived:
    """A ``MARGIN_CALL``: positions close to liquidation (informational)."""

    symbols: tuple[Symbol, ...]
    event_time: int


@final
@attrs.frozen(kw_only=True)
class EventsDropped:
    """This subscriber's channel was full: ``count`` events before this one were not delivered.

    Order state is never lost (``Executor.orders()`` has it); only the
    notifications were. Read faster or subscribe with a larger buffer.
    """

    count: int


StreamEvent = StreamGap | StreamResynced | AccountChanged | MarginCallReceived
#: Everything a subscriber of ``Executor.subscribe`` can receive.
ExecutorEvent = OrderEvent | StreamEvent | EventsDropped
