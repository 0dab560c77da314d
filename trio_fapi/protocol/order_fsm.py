"""The order lifecycle as a transition table (sans-IO).

``(status, event) -> status``. The symbol order actor feeds events in and acts on
what comes out; nothing here does I/O, so the table is tested with plain pytest
and hypothesis. Real-world edges that the table spells out:

- a fill racing a cancel: ``PENDING_CANCEL --FILL--> FILLED``;
- a cancel refused: ``PENDING_CANCEL --CANCEL_REJECT-->`` back to NEW or
  PARTIALLY_FILLED (whichever the fills say);
- an unknown placement outcome: ``PENDING_NEW --OUTCOME_UNKNOWN--> UNKNOWN``, left
  only on evidence (the exchange shows the order, or proves its absence) or by
  escalation to UNRESOLVED; never by assumption;
- terminal statuses absorb late evidence (quantities may still be corrected by
  the caller, the status never regresses).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from .enums import TERMINAL_STATUSES, OrderStatus
from .errors import InvalidOrderTransition

__all__ = ["TRANSITIONS", "OrderEvent", "apply", "can_apply"]


class OrderEvent(enum.Enum):
    """What can happen to an order, from the engine's point of view."""

    ACCEPT = "accept"  # the exchange shows the order open (NEW)
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"  # fully filled
    AMEND = "amend"  # price/qty modified, still open
    CANCEL_REQUEST = "cancel_request"  # we asked to cancel
    CANCEL_REJECT = "cancel_reject"  # the cancel was refused and the order is still open
    CANCEL = "cancel"  # the exchange says CANCELED
    EXPIRE = "expire"
    EXPIRE_IN_MATCH = "expire_in_match"
    REJECT = "reject"  # definitive refusal of the placement
    OUTCOME_UNKNOWN = "outcome_unknown"  # we cannot tell whether the exchange acted
    ABSENCE_PROVEN = "absence_proven"  # enough evidence that the order never landed
    ESCALATE = "escalate"  # unknown for too long


_S = OrderStatus
_E = OrderEvent
#: Marker: return to NEW or PARTIALLY_FILLED according to the fills.
_REOPEN = "reopen"

_EVIDENCE: dict[OrderEvent, OrderStatus | str] = {
    _E.ACCEPT: _S.NEW,
    _E.PARTIAL_FILL: _S.PARTIALLY_FILLED,
    _E.FILL: _S.FILLED,
    _E.CANCEL: _S.CANCELED,
    _E.EXPIRE: _S.EXPIRED,
    _E.EXPIRE_IN_MATCH: _S.EXPIRED_IN_MATCH,
}
_OPEN_EDGES: dict[OrderEvent, OrderStatus | str] = {
    **_EVIDENCE,
    _E.AMEND: _REOPEN,
    _E.CANCEL_REQUEST: _S.PENDING_CANCEL,
}

_table: dict[tuple[OrderStatus, OrderEvent], OrderStatus | str] = {}
for _event, _target in {
    **_EVIDENCE,
    _E.REJECT: _S.REJECTED,
    _E.OUTCOME_UNKNOWN: _S.UNKNOWN,
}.items():
    # No CANCEL_REQUEST here: a cancel waits until the placement is settled, so a
    # rejection can never meet a PENDING_CANCEL that was never open.
    _table[(_S.PENDING_NEW, _event)] = _target
for _status in (_S.UNKNOWN, _S.UNRESOLVED):
    for _event, _target in {
        **_EVIDENCE,
        _E.REJECT: _S.REJECTED,
        _E.ABSENCE_PROVEN: _S.REJECTED,
        _E.OUTCOME_UNKNOWN: _status,
        _E.ESCALATE: _S.UNRESOLVED,
    }.items():
        _table[(_status, _event)] = _target
for _status in (_S.NEW, _S.PARTIALLY_FILLED):
    for _event, _target in _OPEN_EDGES.items():
        _table[(_status, _event)] = _target
    # A late "NEW" after a partial fill is not a regression.
    _table[(_S.PARTIALLY_FILLED, _E.ACCEPT)] = _S.PARTIALLY_FILLED
for _event, _target in {
    _E.ACCEPT: _S.PENDING_CANCEL,
    _E.PARTIAL_FILL: _S.PENDING_CANCEL,
    _E.AMEND: _S.PENDING_CANCEL,
    _E.CANCEL_REQUEST: _S.PENDING_CANCEL,
    _E.OUTCOME_UNKNOWN: _S.PENDING_CANCEL,
    _E.FILL: _S.FILLED,
    _E.CANCEL: _S.CANCELED,
    _E.EXPIRE: _S.EXPIRED,
    _E.EXPIRE_IN_MATCH: _S.EXPIRED_IN_MATCH,
    _E.CANCEL_REJECT: _REOPEN,
}.items():
    _table[(_S.PENDING_CANCEL, _event)] = _target
for _status in TERMINAL_STATUSES:
    for _event in (*_EVIDENCE, _E.CANCEL_REJECT, _E.OUTCOME_UNKNOWN, _E.AMEND):
        _table[(_status, _event)] = _status

#: The whole table, read-only. Values are statuses or the reopen marker.
TRANSITIONS: Mapping[tuple[OrderStatus, OrderEvent], OrderStatus | str] = MappingProxyType(_table)


def can_apply(status: OrderStatus, event: OrderEvent) -> bool:
    """Whether the table has an edge for ``event`` from ``status``."""
    return (status, event) in TRANSITIONS


def apply(status: OrderStatus, event: OrderEvent, *, has_fills: bool) -> OrderStatus:
    """The status after ``event``.

    Args:
        status: The current status.
        event: What happened.
        has_fills: Whether the order has any executed quantity; decides where a
            refused cancel or an amendment returns to.

    Raises:
        InvalidOrderTransition: The table has no such edge (a bug in the caller).
    """
    try:
        target = TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidOrderTransition(status=status.value, event=event.value) from None
    if target == _REOPEN:
        return _S.PARTIALLY_FILLED if has_fills else _S.NEW
    assert isinstance(target, OrderStatus)
    return target
