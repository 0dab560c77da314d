"""What the intent journal stores: intents, their outcomes, and its errors.

An *intent* is one order operation the engine is about to send (place, cancel,
modify, algo place). It is journaled before it is sent, so a process killed at
any point can find out on restart what it may have sent (faults.md rows 49-50),
and it is never sent again blindly. These records are pure values: the journal
actor (``trio_fapi.actors.journal``) owns the database, this module only says
what a valid record is.

Parameters are stored exactly as they would go on the wire: fixed-point
strings, never floats, in their original order. Anything that looks like a
credential or a signature is refused before it reaches the database: request
parameters are unsigned, so a ``signature`` key can only be a bug.

::

    JournalError (EngineError)
    ├── InvalidJournalEntry (ValueError)   refused before any I/O: float, secret-like key
    ├── UnknownIntent                      an outcome for an intent the journal does not hold
    ├── JournalCorrupt                     not a journal, damaged, or another schema version
    ├── JournalLocked                      another process (or connection) owns the file
    ├── JournalUnavailable                 I/O failed (disk full, permissions, ...)
    └── JournalClosed                      used after it was closed
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import final

import attrs

from .enums import OrderStatus
from .errors import EngineError
from .ids import ClientOrderId, Symbol, VenueOrderId
from .numbers import fmt

__all__ = [
    "FORBIDDEN_PARAM_KEYS",
    "Intent",
    "IntentKind",
    "IntentOutcome",
    "IntentState",
    "InvalidJournalEntry",
    "JournalClosed",
    "JournalCorrupt",
    "JournalError",
    "JournalLocked",
    "JournalUnavailable",
    "JournaledIntent",
    "UnknownIntent",
    "intent_state_for",
    "journal_params",
]

#: Parameter names refused by the journal (compared case-insensitively): request
#: parameters are stored unsigned, so these can only come from a mistake.
FORBIDDEN_PARAM_KEYS = frozenset(
    {
        "apikey",
        "api_key",
        "apisecret",
        "api_secret",
        "listenkey",
        "passphrase",
        "privatekey",
        "private_key",
        "secret",
        "signature",
        "x-mbx-apikey",
    }
)


# -- errors ------------------------------------------------------------------------------


class JournalError(EngineError):
    """Base of every journal failure. A caller that gets one must not send the intent."""


@attrs.define(auto_exc=True, eq=False)
class InvalidJournalEntry(JournalError, ValueError):
    """A record the journal refuses before any I/O. The message never echoes a value."""

    reason: str

    def __str__(self) -> str:
        return f"journal entry refused: {self.reason}"


@attrs.define(auto_exc=True, eq=False)
class UnknownIntent(JournalError):
    """An outcome was recorded for an intent id the journal does not hold."""

    intent_id: int

    def __str__(self) -> str:
        return f"journal has no intent {self.intent_id}"


@attrs.define(auto_exc=True, eq=False)
class JournalCorrupt(JournalError):
    """The file is not a trio-fapi journal, is damaged, or has another schema version."""

    reason: str

    def __str__(self) -> str:
        return f"journal unusable: {self.reason}"


@attrs.define(auto_exc=True, eq=False)
class JournalLocked(JournalError):
    """Another process or connection owns the journal; two engines must never share one."""

    reason: str = "the journal is locked by another connection"

    def __str__(self) -> str:
        return self.reason


@attrs.define(auto_exc=True, eq=False)
class JournalUnavailable(JournalError):
    """Reading or writing failed (disk full, permissions, I/O error)."""

    reason: str

    def __str__(self) -> str:
        return f"journal unavailable: {self.reason}"


@attrs.define(auto_exc=True, eq=False)
class JournalClosed(JournalError):
    """The journal was used after it was closed (or its actor stopped)."""

    def __str__(self) -> str:
        return "the journal is closed"


# -- vocabulary --------------------------------------------------------------------------


class IntentKind(enum.StrEnum):
    """Which order operation an intent is."""

    PLACE = "place"
    CANCEL = "cancel"
    MODIFY = "modify"
    ALGO_PLACE = "algo_place"


class IntentState(enum.StrEnum):
    """Where an intent stands, from the journal's point of view.

    Only ``TERMINAL`` is settled for good. Every other state is something a
    restarted process must reconcile by evidence (a query by client order id),
    including ``WRITTEN``: the process may have died after writing and before or
    while sending, so "written" means "may or may not have been sent".
    """

    #: Journaled; not known to have been handed to the network yet.
    WRITTEN = "written"
    #: Handed to the network; no answer yet.
    SENT = "sent"
    #: The exchange confirmed it (a venue order id is known); the order may still be live.
    ACKNOWLEDGED = "acknowledged"
    #: The outcome could not be known; resolution by evidence is running.
    UNKNOWN = "unknown"
    #: Still unknown after the resolution bound; escalated and still tracked.
    UNRESOLVED = "unresolved"
    #: Settled: the order reached a terminal status, or the cancel/modify was answered.
    TERMINAL = "terminal"

    @property
    def is_terminal(self) -> bool:
        """True only for ``TERMINAL``."""
        return self is IntentState.TERMINAL


_ACKNOWLEDGED_STATUSES = frozenset(
    {OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL}
)


def intent_state_for(status: OrderStatus) -> IntentState:
    """The state a placement intent has when its order shows ``status``.

    Used to keep the journal in step with the order state machine: terminal
    statuses settle the intent; ``UNKNOWN`` and ``UNRESOLVED`` carry over;
    an order that is open (or being canceled) is acknowledged; ``PENDING_NEW``
    after the send is ``SENT``.
    """
    if status.is_terminal:
        return IntentState.TERMINAL
    if status is OrderStatus.UNKNOWN:
        return IntentState.UNKNOWN
    if status is OrderStatus.UNRESOLVED:
        return IntentState.UNRESOLVED
    if status in _ACKNOWLEDGED_STATUSES:
        return IntentState.ACKNOWLEDGED
    return IntentState.SENT


# -- parameters --------------------------------------------------------------------------


def _param_value(key: str, value: object) -> str:
    # bool before int: bool is an int subclass, and True is not a number Binance reads.
    if isinstance(value, bool | float):
        raise InvalidJournalEntry(
            reason=f"parameter {key!r}: {type(value).__name__} values are not stored"
        )
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidJournalEntry(reason=f"parameter {key!r}: not a finite number")
        return fmt(value)
    if isinstance(value, int):
        return str(value)
    raise InvalidJournalEntry(reason=f"parameter {key!r}: unsupported type {type(value).__name__}")


def journal_params(
    params: Mapping[str, object] | Iterable[tuple[str, object]],
) -> tuple[tuple[str, str], ...]:
    """Normalise request parameters for the journal: ordered pairs of strings.

    Decimals become fixed-point text (``Decimal("1E-7")`` is stored as
    ``"0.0000001"``); ints become their decimal text; strings are kept as they
    are, because they are what would be sent.

    Raises:
        InvalidJournalEntry: A float or bool value (inexact, or not a Binance
            number), a non-finite Decimal, an unsupported type, an empty or
            duplicated key, or a key that names a credential or a signature.
    """
    items = params.items() if isinstance(params, Mapping) else params
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for key, value in items:
        if not isinstance(key, str) or not key:
            raise InvalidJournalEntry(reason="parameter names must be non-empty strings")
        if key.casefold() in FORBIDDEN_PARAM_KEYS:
            raise InvalidJournalEntry(reason=f"parameter {key!r} looks like a secret")
        if key in seen:
            raise InvalidJournalEntry(reason=f"parameter {key!r} given twice")
        seen.add(key)
        out.append((key, _param_value(key, value)))
    return tuple(out)


def _check_non_empty(_inst: object, attr: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidJournalEntry(reason=f"{attr.name} must be a non-empty string")


def _check_sequence(_inst: object, _attr: object, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidJournalEntry(reason="sequence must be a positive int or None")


# -- records -----------------------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class Intent:
    """One order operation, as the engine is about to send it.

    Attributes:
        session: The engine run's tag (the prefix of its client order ids).
        strategy: Who asked.
        symbol: Where.
        kind: Which operation.
        client_order_id: The order's deterministic client id (for a cancel or a
            modify: the id of the order it acts on).
        params: The unsigned request parameters, as sent, in order.
        sequence: The intent sequence number the id was derived from; ``None``
            for caller-chosen ids and for cancels and modifies.
    """

    session: str = attrs.field(validator=_check_non_empty)
    strategy: str = attrs.field(validator=_check_non_empty)
    symbol: Symbol = attrs.field(validator=attrs.validators.instance_of(Symbol))
    kind: IntentKind = attrs.field(converter=IntentKind)
    client_order_id: ClientOrderId = attrs.field(
        validator=attrs.validators.instance_of(ClientOrderId)
    )
    params: tuple[tuple[str, str], ...] = attrs.field(converter=journal_params)
    sequence: int | None = attrs.field(default=None, validator=_check_sequence)

    def param(self, name: str) -> str | None:
        """The value of one parameter, or ``None`` when absent."""
        for key, value in self.params:
            if key == name:
                return value
        return None


@final
@attrs.frozen(kw_only=True)
class IntentOutcome:
    """One update of an intent's state, as the journal's history keeps it.

    Attributes:
        state: The intent's state after the update.
        status: The order's status as last seen (for a refused cancel this is the
            status of the order that stayed open).
        venue_order_id: Binance's ``orderId`` once known.
        detail: A short human-readable cause (an error's ``str()``; never a secret).
        at_ms: When it was recorded, epoch milliseconds.
    """

    state: IntentState = attrs.field(converter=IntentState)
    status: OrderStatus | None = None
    venue_order_id: VenueOrderId | None = None
    detail: str | None = None
    at_ms: int = 0


@final
@attrs.frozen(kw_only=True)
class JournaledIntent:
    """An intent as the journal holds it: what was written, and where it stands now.

    Attributes:
        intent_id: The journal's id for this intent; never reused, also across restarts.
        intent: What was written before sending.
        written_at_ms: When it was written, epoch milliseconds.
        state: The latest state.
        status: The order's latest known status.
        venue_order_id: Binance's ``orderId`` once known.
        detail: The cause given with the latest update.
        updated_at_ms: When the latest update was recorded, epoch milliseconds.
    """

    intent_id: int
    intent: Intent
    written_at_ms: int
    state: IntentState
    status: OrderStatus | None = None
    venue_order_id: VenueOrderId | None = None
    detail: str | None = None
    updated_at_ms: int = 0

    @property
    def is_terminal(self) -> bool:
        """True when nothing about this intent is left to reconcile."""
        return self.state.is_terminal
