"""User-data stream events, parsed once at the boundary (binance-fapi.md 8.2-8.4).

The stream actor hands every text frame to :func:`parse_user_event` and gets back
one typed, frozen event, or a :class:`MalformedEvent`. Nothing else escapes, so
the actor's loop is a ``match`` over :data:`UserEvent` plus one ``except``
clause that counts and skips (faults.md row 42): a bad frame must never end the
stream task, and an event type Binance adds tomorrow becomes an
:class:`UnknownEvent`, not an error.

Strictness is chosen field by field. What drives order state and fills (ids,
statuses, quantities, prices, commissions, times) is checked hard: amounts are
unsigned fixed-point text where they cannot be negative (no exponent, no JSON
number, no ``-``), and a cumulative fill above the order quantity is refused,
because one corrupt fill applied by the order actor cannot be undone by a later
query (rows 37, 44). Descriptive fields that Binance added over the years, or
whose vocabulary it extends (``GTE_GTC`` time in force, new ACCOUNT_UPDATE
reasons), default or stay raw instead, so a real fill is never dropped over a
label.

The listen key is a secret (row 64): :class:`ListenKeyExpired` holds it as a
:class:`~trio_fapi.protocol.credentials.Secret`, and no error message ever
repeats a value from the frame, only the event type and the field's name.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import NoReturn, TypeVar, final

import attrs

from .algo import ALGO_STATUS_MAP
from .credentials import Secret
from .enums import (
    LOCAL_STATUSES,
    MarginType,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
)
from .errors import EngineError, InvalidNumber, UnknownSymbol
from .ids import ClientOrderId, Symbol, VenueOrderId
from .numbers import parse_wire_amount

__all__ = [
    "LIQUIDATION_CLIENT_ID_PREFIXES",
    "AccountConfigUpdate",
    "AccountUpdate",
    "AlgoUpdate",
    "BalanceChange",
    "ExecutionType",
    "ListenKeyExpired",
    "MalformedEvent",
    "MarginCall",
    "MarginCallPosition",
    "OrderTradeUpdate",
    "PositionChange",
    "StreamAlgoOrder",
    "StreamOrder",
    "TradeLite",
    "UnknownEvent",
    "UserEvent",
    "parse_user_event",
]

_ZERO = Decimal(0)
_MAX_INT64 = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")

#: Client order id prefixes of orders the exchange places itself: ``autoclose-``
#: (liquidation), ``adl_autoclose`` (auto-deleveraging), ``settlement_autoclose-``
#: (delivery or delisting). No strategy placed them (faults.md row 43).
LIQUIDATION_CLIENT_ID_PREFIXES = ("autoclose-", "adl_autoclose", "settlement_autoclose-")


@attrs.define(auto_exc=True, eq=False)
class MalformedEvent(EngineError):
    """A user-data stream frame that is not a well-formed event.

    The stream task counts it and skips it; the gap it leaves is closed by the
    reconciliation that follows every reconnect (faults.md rows 39, 42).

    Attributes:
        event_type: The frame's ``e`` when it names a known event, else ``"?"``.
            Never a value taken from an unknown frame.
        field: The path of the offending field, such as ``o.z`` or ``a.B[1].wb``
            (``frame`` for the frame as a whole).
        reason: What is wrong, in words. Never the value: a frame may carry the
            listen key, and a hostile one may be megabytes long.
    """

    event_type: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"malformed {self.event_type} event: {self.field}: {self.reason}"


class ExecutionType(enum.StrEnum):
    """What happened to an order (``x`` in ORDER_TRADE_UPDATE), in Binance's words."""

    NEW = "NEW"
    CANCELED = "CANCELED"
    #: A liquidation execution: it carries a fill like TRADE does.
    CALCULATED = "CALCULATED"
    EXPIRED = "EXPIRED"
    TRADE = "TRADE"
    AMENDMENT = "AMENDMENT"


_T = TypeVar("_T")

_SIDES: Mapping[str, OrderSide] = {m.value: m for m in OrderSide}
_ORDER_TYPES: Mapping[str, OrderType] = {m.value: m for m in OrderType}
_TIME_IN_FORCE: Mapping[str, TimeInForce] = {m.value: m for m in TimeInForce}
_POSITION_SIDES: Mapping[str, PositionSide] = {m.value: m for m in PositionSide}
_EXECUTION_TYPES: Mapping[str, ExecutionType] = {m.value: m for m in ExecutionType}
#: Exchange statuses only; the engine's local ones never arrive on the wire. Old
#: liquidation orders report NEW_INSURANCE / NEW_ADL, which are NEW for the engine.
_ORDER_STATUSES: Mapping[str, OrderStatus] = {
    **{m.value: m for m in OrderStatus if m not in LOCAL_STATUSES},
    "NEW_INSURANCE": OrderStatus.NEW,
    "NEW_ADL": OrderStatus.NEW,
}
#: The stream says ``cross``/``isolated``, MARGIN_CALL says ``CROSSED``; compared lower-case.
_MARGIN_TYPES: Mapping[str, MarginType] = {
    "cross": MarginType.CROSSED,
    "crossed": MarginType.CROSSED,
    "isolated": MarginType.ISOLATED,
}


class _Fields:
    """Typed reads from one JSON object of one event.

    Every failure names the event type and the field's path and nothing else.
    JSON ``null`` counts as absent, so optional fields may be null or missing.
    """

    __slots__ = ("_data", "_event", "_prefix")

    def __init__(self, data: Mapping[str, object], event: str, prefix: str = "") -> None:
        self._data = data
        self._event = event
        self._prefix = prefix

    def fail(self, key: str, reason: str) -> NoReturn:
        raise MalformedEvent(event_type=self._event, field=f"{self._prefix}{key}", reason=reason)

    def _required(self, key: str) -> object:
        value = self._data.get(key)
        if value is None:
            self.fail(key, "missing")
        return value

    def obj(self, key: str) -> _Fields:
        value = self._required(key)
        if not isinstance(value, Mapping):
            self.fail(key, "not an object")
        return _Fields(value, self._event, f"{self._prefix}{key}.")

    def opt_obj(self, key: str) -> _Fields | None:
        return None if self._data.get(key) is None else self.obj(key)

    def objs(self, key: str) -> tuple[_Fields, ...]:
        """A list of objects; absent means empty (Binance sends only what changed)."""
        value = self._data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            self.fail(key, "not a list")
        out = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                self.fail(f"{key}[{index}]", "not an object")
            out.append(_Fields(item, self._event, f"{self._prefix}{key}[{index}]."))
        return tuple(out)

    def text(self, key: str) -> str:
        value = self._required(key)
        if not isinstance(value, str):
            self.fail(key, "not a string")
        if not value:
            self.fail(key, "empty")
        return value

    def opt_text(self, key: str) -> str | None:
        """A string, or ``None`` when absent, null or empty."""
        value = self._data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.fail(key, "not a string")
        return value

    def flag(self, key: str, default: bool | None = None) -> bool:
        value = self._data.get(key)
        if value is None:
            if default is None:
                self.fail(key, "missing")
            return default
        if not isinstance(value, bool):
            self.fail(key, "not a boolean")
        return value

    def count(self, key: str, default: int | None = None, *, text_ok: bool = False) -> int:
        """A non-negative int64 (ids, times); ``text_ok`` also takes a decimal string."""
        value = self._data.get(key)
        if value is None:
            if default is None:
                self.fail(key, "missing")
            return default
        if isinstance(value, str) and text_ok:
            if not _DIGITS.fullmatch(value):
                self.fail(key, "not a non-negative integer")
            result = int(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            result = value
        else:
            self.fail(key, "not a non-negative integer")
        if not 0 <= result <= _MAX_INT64:
            self.fail(key, "out of range")
        return result

    def opt_count(self, key: str, *, text_ok: bool = False) -> int | None:
        """Like :meth:`count`, but ``None`` when absent, null or empty text."""
        value = self._data.get(key)
        if value is None or value == "":
            return None
        return self.count(key, text_ok=text_ok)

    def time(self, key: str) -> int:
        """Epoch milliseconds, as an int or a digit string.

        Binance's listenKeyExpired example sends ``E`` as a string; reading both
        everywhere costs nothing and keeps one rule for every event.
        """
        return self.count(key, text_ok=True)

    def amount(self, key: str, default: Decimal | None = None, *, signed: bool = False) -> Decimal:
        """A fixed-point string; unsigned unless ``signed`` (PnL, balances, position size)."""
        value = self._data.get(key)
        if value is None:
            if default is None:
                self.fail(key, "missing")
            return default
        negative = False
        if signed and isinstance(value, str) and value.startswith("-"):
            negative, value = True, value[1:]
        result: Decimal | None
        try:
            result = parse_wire_amount(value, field=key)
        except InvalidNumber:
            # Fail outside the handler: the InvalidNumber holds a preview of the
            # value, and must not ride along as __context__ into logs.
            result = None
        if result is None:
            self.fail(
                key, "not a signed fixed-point string" if signed else "not a fixed-point string"
            )
        # copy_negate is exact; unary minus would round to the context's precision.
        return result.copy_negate() if negative else result

    def opt_amount(self, key: str, *, signed: bool = False) -> Decimal | None:
        """Like :meth:`amount`, but ``None`` when absent or null."""
        return None if self._data.get(key) is None else self.amount(key, signed=signed)

    def symbol(self, key: str) -> Symbol:
        value = self.text(key)
        result: Symbol | None
        try:
            result = Symbol(value)
        except UnknownSymbol:
            result = None
        if result is None:
            self.fail(key, "not a symbol")
        return result

    def opt_symbol(self, key: str) -> Symbol | None:
        return None if self.opt_text(key) is None else self.symbol(key)

    def choice(self, key: str, table: Mapping[str, _T]) -> _T:
        value = self.text(key)
        result = table.get(value)
        if result is None:
            self.fail(key, "unknown value")
        return result

    def lenient_choice(self, key: str, table: Mapping[str, _T]) -> _T | None:
        """A known value, or ``None`` for an absent or unlisted one (must still be a string)."""
        value = self.opt_text(key)
        return None if value is None else table.get(value)


# -- ORDER_TRADE_UPDATE ---------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class StreamOrder:
    """The ``o`` object of ORDER_TRADE_UPDATE: one order just after one change.

    Attributes:
        symbol: ``s``.
        client_order_id: ``c``. A plain string, not a
            :class:`~trio_fapi.protocol.ids.ClientOrderId`: orders the engine did
            not place (web UI, liquidations) carry ids it never chose.
        side: ``S``.
        order_type: ``o``; ``LIQUIDATION`` for forced closes.
        orig_type: ``ot``, the type the order was placed with (``o`` when absent).
        time_in_force: ``f``; ``None`` for a value outside
            :class:`~trio_fapi.protocol.enums.TimeInForce` such as ``GTE_GTC``.
        orig_qty: ``q``. May be 0 for a close-all (``cp``) order; otherwise
            ``cumulative_filled_qty`` never exceeds it.
        price: ``p`` (0 for market orders).
        avg_price: ``ap`` (0 before the first fill).
        stop_price: ``sp`` (0 when none).
        execution_type: ``x``, what this event reports.
        status: ``X``, the status after it.
        order_id: ``i``.
        last_filled_qty: ``l``, this event's fill (0 unless a trade).
        cumulative_filled_qty: ``z``; the order actor applies events by this,
            never by arrival order (faults.md row 37).
        last_filled_price: ``L``.
        commission_asset: ``N``; ``None`` when there was no commission.
        commission: ``n``; ``None`` when there was no commission. May be negative
            (a maker rebate).
        trade_time: ``T`` inside ``o``.
        trade_id: ``t``; 0 when the event is not a trade. With ``order_id`` it is
            the key that deduplicates fills (row 38).
        maker: ``m``.
        reduce_only: ``R``.
        close_position: ``cp``.
        position_side: ``ps``.
        realized_profit: ``rp``, of this trade.
        expiry_reason: ``er`` (0 none, 1 STP, 2 IOC remainder, 3 IOC by STP,
            4 reduce-only knocked out, 5 liquidation, 6 GTE condition, 7 delisted,
            8 TP/SL companion, 9 market order not fully filled).
        good_till_date: ``gtd`` (0 when none).
    """

    symbol: Symbol
    client_order_id: str
    side: OrderSide
    order_type: OrderType
    orig_type: OrderType
    time_in_force: TimeInForce | None
    orig_qty: Decimal
    price: Decimal
    avg_price: Decimal
    stop_price: Decimal
    execution_type: ExecutionType
    status: OrderStatus
    order_id: VenueOrderId
    last_filled_qty: Decimal
    cumulative_filled_qty: Decimal
    last_filled_price: Decimal
    commission_asset: str | None
    commission: Decimal | None
    trade_time: int
    trade_id: int
    maker: bool
    reduce_only: bool
    close_position: bool
    position_side: PositionSide
    realized_profit: Decimal
    expiry_reason: int
    good_till_date: int

    @property
    def is_trade(self) -> bool:
        """Whether this event carries a fill: TRADE, or CALCULATED (a liquidation execution)."""
        return self.execution_type in (ExecutionType.TRADE, ExecutionType.CALCULATED)

    @property
    def is_liquidation(self) -> bool:
        """Whether the exchange placed this order itself (liquidation, ADL, settlement).

        Such an order belongs to no strategy: route it as external (faults.md row 43).
        """
        return self.order_type is OrderType.LIQUIDATION or self.client_order_id.startswith(
            LIQUIDATION_CLIENT_ID_PREFIXES
        )

    @property
    def last_quote(self) -> Decimal:
        """Quote value of this event's fill, ``l * L`` (zero unless a trade)."""
        return self.last_filled_qty * self.last_filled_price

    @property
    def cum_quote(self) -> Decimal:
        """Quote value of all fills so far, derived as ``ap * z``.

        The stream has no cumulative quote field, and ``ap`` is rounded by the
        exchange, so this is as exact as ``ap`` is. For exact totals, add up
        :attr:`last_quote` over the fills (deduplicated by trade id).
        """
        return self.avg_price * self.cumulative_filled_qty

    def matches(self, client_order_id: ClientOrderId) -> bool:
        """Whether this event is about the order we placed with ``client_order_id``."""
        return self.client_order_id == client_order_id.value


@final
@attrs.frozen(kw_only=True)
class OrderTradeUpdate:
    """ORDER_TRADE_UPDATE: an order was created, traded, amended, canceled or expired.

    Attributes:
        event_time: ``E``, when the message was generated (ms); order by this.
        transaction_time: ``T``, when the matching engine acted (ms).
        order: The order after the change.
    """

    event_time: int
    transaction_time: int
    order: StreamOrder


def _stream_order(o: _Fields) -> StreamOrder:
    order_type = o.choice("o", _ORDER_TYPES)
    orig_qty = o.amount("q")
    cumulative = o.amount("z")
    last = o.amount("l")
    close_position = o.flag("cp", False)
    # A close-all order may print q "0": it closes whatever is open (as VenueOrder).
    if cumulative > orig_qty and not (orig_qty == 0 and close_position):
        o.fail("z", "cumulative filled quantity exceeds q")
    if last > cumulative:
        o.fail("l", "last filled quantity exceeds z")
    orig_type = o.lenient_choice("ot", _ORDER_TYPES)
    return StreamOrder(
        symbol=o.symbol("s"),
        client_order_id=o.text("c"),
        side=o.choice("S", _SIDES),
        order_type=order_type,
        orig_type=order_type if orig_type is None else orig_type,
        time_in_force=o.lenient_choice("f", _TIME_IN_FORCE),
        orig_qty=orig_qty,
        price=o.amount("p"),
        avg_price=o.amount("ap"),
        stop_price=o.amount("sp", _ZERO),
        execution_type=o.choice("x", _EXECUTION_TYPES),
        status=o.choice("X", _ORDER_STATUSES),
        order_id=VenueOrderId(o.count("i")),
        last_filled_qty=last,
        cumulative_filled_qty=cumulative,
        last_filled_price=o.amount("L"),
        commission_asset=o.opt_text("N"),
        commission=o.opt_amount("n", signed=True),
        trade_time=o.time("T"),
        trade_id=o.count("t"),
        maker=o.flag("m"),
        reduce_only=o.flag("R"),
        close_position=close_position,
        position_side=o.choice("ps", _POSITION_SIDES),
        realized_profit=o.amount("rp", _ZERO, signed=True),
        expiry_reason=o.count("er", 0, text_ok=True),
        good_till_date=o.count("gtd", 0),
    )


def _order_trade_update(f: _Fields) -> OrderTradeUpdate:
    return OrderTradeUpdate(
        event_time=f.time("E"), transaction_time=f.time("T"), order=_stream_order(f.obj("o"))
    )


# -- TRADE_LITE -----------------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class TradeLite:
    """TRADE_LITE: a fill, sent ahead of the full ORDER_TRADE_UPDATE with fewer fields.

    It has no status and no cumulative quantity, so it can only hint that a
    fill happened; the ORDER_TRADE_UPDATE for the same ``(order_id, trade_id)``
    is the one to apply. (``q`` is not compared with ``l``: Binance's own example
    has ``l`` above ``q``.)
    """

    event_time: int
    transaction_time: int
    symbol: Symbol
    client_order_id: str
    side: OrderSide
    order_id: VenueOrderId
    trade_id: int
    orig_qty: Decimal
    price: Decimal
    last_filled_qty: Decimal
    last_filled_price: Decimal
    maker: bool


def _trade_lite(f: _Fields) -> TradeLite:
    return TradeLite(
        event_time=f.time("E"),
        transaction_time=f.time("T"),
        symbol=f.symbol("s"),
        client_order_id=f.text("c"),
        side=f.choice("S", _SIDES),
        order_id=VenueOrderId(f.count("i")),
        trade_id=f.count("t"),
        orig_qty=f.amount("q"),
        price=f.amount("p"),
        last_filled_qty=f.amount("l"),
        last_filled_price=f.amount("L"),
        maker=f.flag("m"),
    )


# -- ALGO_UPDATE ----------------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class StreamAlgoOrder:
    """The ``o`` object of ALGO_UPDATE: a conditional order in Binance's Algo Service.

    Attributes:
        client_algo_id: ``caid``.
        algo_id: ``aid``.
        algo_type: ``at`` (``CONDITIONAL``).
        order_type: ``o``.
        symbol: ``s``.
        side: ``S``.
        position_side: ``ps``.
        time_in_force: ``f``; ``None`` outside the enum (``GTE_GTC``).
        quantity: ``q`` (0 for close-all orders).
        algo_status: ``X`` as sent (NEW, TRIGGERING, TRIGGERED, FINISHED, ...).
        status: ``X`` mapped onto the order statuses by
            :data:`~trio_fapi.protocol.algo.ALGO_STATUS_MAP`.
        actual_order_id: ``ai``, the matching-engine order once triggered.
        actual_avg_price: ``ap`` (0 until triggered and filled).
        actual_qty: ``aq`` (0 until triggered and filled).
        trigger_price: ``tp`` (0 for trailing stops).
        price: ``p`` (0 for market types).
        reduce_only: ``R``.
        close_position: ``cp``.
        trigger_time: ``tt`` (0 until triggered).
        good_till_date: ``gtd`` (0 when none).
        reason: ``rm``, why the Algo Service rejected or expired it.
    """

    client_algo_id: str
    algo_id: int
    algo_type: str
    order_type: OrderType
    symbol: Symbol
    side: OrderSide
    position_side: PositionSide
    time_in_force: TimeInForce | None
    quantity: Decimal
    algo_status: str
    status: OrderStatus
    actual_order_id: VenueOrderId | None
    actual_avg_price: Decimal
    actual_qty: Decimal
    trigger_price: Decimal
    price: Decimal
    reduce_only: bool
    close_position: bool
    trigger_time: int
    good_till_date: int
    reason: str | None

    @property
    def is_triggered(self) -> bool:
        """Whether the matching engine holds an order for it (``ai`` is set)."""
        return self.actual_order_id is not None


@final
@attrs.frozen(kw_only=True)
class AlgoUpdate:
    """ALGO_UPDATE: a conditional order was created or changed status."""

    event_time: int
    transaction_time: int
    order: StreamAlgoOrder


def _algo_update(f: _Fields) -> AlgoUpdate:
    o = f.obj("o")
    algo_status = o.text("X")
    status = ALGO_STATUS_MAP.get(algo_status)
    if status is None:
        o.fail("X", "unknown value")
    actual = o.opt_count("ai", text_ok=True)
    order = StreamAlgoOrder(
        client_algo_id=o.text("caid"),
        algo_id=o.count("aid"),
        algo_type=o.text("at"),
        order_type=o.choice("o", _ORDER_TYPES),
        symbol=o.symbol("s"),
        side=o.choice("S", _SIDES),
        position_side=o.choice("ps", _POSITION_SIDES),
        time_in_force=o.lenient_choice("f", _TIME_IN_FORCE),
        quantity=o.amount("q", _ZERO),
        algo_status=algo_status,
        status=status,
        actual_order_id=None if actual is None else VenueOrderId(actual),
        actual_avg_price=o.amount("ap", _ZERO),
        actual_qty=o.amount("aq", _ZERO),
        trigger_price=o.amount("tp", _ZERO),
        price=o.amount("p", _ZERO),
        reduce_only=o.flag("R", False),
        close_position=o.flag("cp", False),
        trigger_time=o.count("tt", 0),
        good_till_date=o.count("gtd", 0),
        reason=o.opt_text("rm"),
    )
    return AlgoUpdate(event_time=f.time("E"), transaction_time=f.time("T"), order=order)


# -- ACCOUNT_UPDATE -------------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class BalanceChange:
    """One row of ``a.B``: an asset whose balance changed."""

    asset: str
    wallet_balance: Decimal
    cross_wallet_balance: Decimal
    #: ``bc``: the change other than PnL and commission (deposits, transfers).
    balance_change: Decimal


@final
@attrs.frozen(kw_only=True)
class PositionChange:
    """One row of ``a.P``: a position that changed (only changed ones are sent)."""

    symbol: Symbol
    position_side: PositionSide
    #: ``pa``: signed size; negative is short in one-way mode.
    amount: Decimal
    entry_price: Decimal
    break_even_price: Decimal
    #: ``cr``: realized PnL accumulated before fees.
    accumulated_realized: Decimal
    unrealized_pnl: Decimal
    margin_type: MarginType | None
    isolated_wallet: Decimal


@final
@attrs.frozen(kw_only=True)
class AccountUpdate:
    """ACCOUNT_UPDATE: balances or positions changed.

    Not sent for orders that only rest or are canceled. ``reason`` (``a.m``) is
    kept as sent (ORDER, FUNDING_FEE, DEPOSIT, ...): Binance adds reasons, and
    an unknown one must not drop the balances it carries.

    Attributes:
        funding_symbol: ``a.S``, the symbol a FUNDING_FEE is for (sent since 2026).
    """

    event_time: int
    transaction_time: int
    reason: str
    balances: tuple[BalanceChange, ...]
    positions: tuple[PositionChange, ...]
    funding_symbol: Symbol | None


def _margin_type(f: _Fields, key: str) -> MarginType | None:
    value = f.opt_text(key)
    if value is None:
        return None
    result = _MARGIN_TYPES.get(value.lower())
    if result is None:
        f.fail(key, "unknown value")
    return result


def _account_update(f: _Fields) -> AccountUpdate:
    a = f.obj("a")
    balances = tuple(
        BalanceChange(
            asset=b.text("a"),
            wallet_balance=b.amount("wb", signed=True),
            cross_wallet_balance=b.amount("cw", signed=True),
            balance_change=b.amount("bc", _ZERO, signed=True),
        )
        for b in a.objs("B")
    )
    positions = tuple(
        PositionChange(
            symbol=p.symbol("s"),
            position_side=p.choice("ps", _POSITION_SIDES),
            amount=p.amount("pa", signed=True),
            entry_price=p.amount("ep"),
            break_even_price=p.amount("bep", _ZERO),
            accumulated_realized=p.amount("cr", _ZERO, signed=True),
            unrealized_pnl=p.amount("up", signed=True),
            margin_type=_margin_type(p, "mt"),
            isolated_wallet=p.amount("iw", _ZERO, signed=True),
        )
        for p in a.objs("P")
    )
    return AccountUpdate(
        event_time=f.time("E"),
        transaction_time=f.time("T"),
        reason=a.text("m"),
        balances=balances,
        positions=positions,
        funding_symbol=a.opt_symbol("S"),
    )


# -- MARGIN_CALL ----------------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class MarginCallPosition:
    """One position at risk in a MARGIN_CALL."""

    symbol: Symbol
    position_side: PositionSide
    amount: Decimal
    margin_type: MarginType | None
    isolated_wallet: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    maintenance_margin: Decimal


@final
@attrs.frozen(kw_only=True)
class MarginCall:
    """MARGIN_CALL: positions are close to liquidation (informational).

    Attributes:
        cross_wallet_balance: ``cw``; sent only for crossed positions.
    """

    event_time: int
    cross_wallet_balance: Decimal | None
    positions: tuple[MarginCallPosition, ...]


def _margin_call(f: _Fields) -> MarginCall:
    positions = tuple(
        MarginCallPosition(
            symbol=p.symbol("s"),
            position_side=p.choice("ps", _POSITION_SIDES),
            amount=p.amount("pa", signed=True),
            margin_type=_margin_type(p, "mt"),
            isolated_wallet=p.amount("iw", _ZERO, signed=True),
            mark_price=p.amount("mp"),
            unrealized_pnl=p.amount("up", signed=True),
            maintenance_margin=p.amount("mm"),
        )
        for p in f.objs("p")
    )
    return MarginCall(
        event_time=f.time("E"),
        cross_wallet_balance=f.opt_amount("cw", signed=True),
        positions=positions,
    )


# -- ACCOUNT_CONFIG_UPDATE ------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class AccountConfigUpdate:
    """ACCOUNT_CONFIG_UPDATE: a symbol's leverage, or the multi-assets mode, changed.

    Attributes:
        symbol: ``ac.s`` when the leverage changed.
        leverage: ``ac.l`` when the leverage changed.
        multi_assets_mode: ``ai.j`` when the multi-assets mode changed.
    """

    event_time: int
    transaction_time: int
    symbol: Symbol | None
    leverage: int | None
    multi_assets_mode: bool | None


def _account_config_update(f: _Fields) -> AccountConfigUpdate:
    ac = f.opt_obj("ac")
    ai = f.opt_obj("ai")
    leverage = None
    if ac is not None:
        leverage = ac.count("l")
        if leverage == 0:
            ac.fail("l", "zero")
    return AccountConfigUpdate(
        event_time=f.time("E"),
        transaction_time=f.time("T"),
        symbol=None if ac is None else ac.symbol("s"),
        leverage=leverage,
        multi_assets_mode=None if ai is None else ai.flag("j"),
    )


# -- listenKeyExpired -----------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class ListenKeyExpired:
    """listenKeyExpired: the key expired; no more events come on this connection.

    The stream actor creates a key, reconnects and reconciles the gap
    (faults.md row 40).

    Attributes:
        event_time: ``E`` (Binance's example sends it as a string; either is read).
        listen_key: The key that expired, as a redacted
            :class:`~trio_fapi.protocol.credentials.Secret` (row 64); ``None``
            when the frame does not say.
    """

    event_time: int
    listen_key: Secret | None

    def concerns(self, listen_key: Secret | str) -> bool:
        """Whether this expiry is about ``listen_key`` (the one in use).

        A frame that names no key is taken to concern the current one: an expiry
        acted on needlessly costs a reconnect, one ignored costs every event after it.
        """
        if self.listen_key is None:
            return True
        current = listen_key.reveal() if isinstance(listen_key, Secret) else listen_key
        return self.listen_key.reveal() == current


def _listen_key_expired(f: _Fields) -> ListenKeyExpired:
    key = f.opt_text("listenKey")
    return ListenKeyExpired(event_time=f.time("E"), listen_key=None if key is None else Secret(key))


# -- anything else ---------------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class UnknownEvent:
    """An event type this module does not parse (STRATEGY_UPDATE, GRID_UPDATE, new ones).

    The stream task counts it and moves on; it is never an error.

    Attributes:
        event_type: ``e`` exactly as sent (unbounded text from the wire: shorten
            it before using it as a metric label).
        event_time: ``E`` when it is a valid time, else ``None``.
    """

    event_type: str
    event_time: int | None


#: Everything :func:`parse_user_event` returns.
UserEvent = (
    OrderTradeUpdate
    | TradeLite
    | AlgoUpdate
    | AccountUpdate
    | MarginCall
    | AccountConfigUpdate
    | ListenKeyExpired
    | UnknownEvent
)

_PARSERS: Mapping[str, Callable[[_Fields], UserEvent]] = {
    "ORDER_TRADE_UPDATE": _order_trade_update,
    "TRADE_LITE": _trade_lite,
    "ALGO_UPDATE": _algo_update,
    "ACCOUNT_UPDATE": _account_update,
    "MARGIN_CALL": _margin_call,
    "ACCOUNT_CONFIG_UPDATE": _account_config_update,
    "listenKeyExpired": _listen_key_expired,
}


_NOT_JSON = object()


def _refuse_constant(_name: str) -> NoReturn:
    # NaN / Infinity are not JSON; Python's json reads them unless told not to.
    raise ValueError("non-standard JSON constant")


def _frame_object(frame: object) -> Mapping[str, object]:
    def bad(reason: str) -> NoReturn:
        raise MalformedEvent(event_type="?", field="frame", reason=reason)

    payload: object
    if isinstance(frame, Mapping):
        payload = frame
    elif isinstance(frame, str | bytes | bytearray):
        try:
            payload = json.loads(frame, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            # The decode error keeps the whole frame (``.doc``); raise outside the
            # handler so it is not chained as __context__ into a logged traceback.
            payload = _NOT_JSON
        if payload is _NOT_JSON:
            bad("not JSON")
    else:
        bad("not a text frame")
    if not isinstance(payload, Mapping):
        bad("not a JSON object")
    data = payload.get("data")
    if "e" not in payload and isinstance(data, Mapping):
        # A combined-stream envelope {"stream": <listen key>, "data": {...}}: the
        # stream name is the key, so it is dropped here and never kept.
        return data
    return payload


def _best_effort_time(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value <= _MAX_INT64:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


def parse_user_event(frame: str | bytes | Mapping[str, object]) -> UserEvent:
    """Parse one user-data stream frame into a typed event.

    Args:
        frame: The text frame as received (``str`` or UTF-8 ``bytes``), or an
            already-decoded JSON object. A combined-stream envelope
            (``{"stream": ..., "data": {...}}``) is unwrapped.

    Returns:
        The event; :class:`UnknownEvent` for any ``e`` this module does not parse.

    Raises:
        MalformedEvent: The frame is not JSON, not an object, has no string ``e``,
            or a known event has a missing, ill-typed or inconsistent field
            (exponent or negative quantities, ``z`` above ``q``, ...). This is
            the only exception it raises, whatever the input.
    """
    payload = _frame_object(frame)
    event_type = payload.get("e")
    if not isinstance(event_type, str):
        raise MalformedEvent(event_type="?", field="e", reason="missing or not a string")
    parser = _PARSERS.get(event_type)
    if parser is None:
        return UnknownEvent(event_type=event_type, event_time=_best_effort_time(payload.get("E")))
    return parser(_Fields(payload, event_type))
