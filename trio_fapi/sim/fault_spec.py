"""The one-line form of a :class:`~trio_fapi.sim.faults.FaultPlan`, for the command line.

``trio-fapi sim --faults SPEC`` takes comma-separated ``key=value`` pairs::

    seed=7,p503unknown=0.05,pdrop=0.05,plost=0.05,pdelay=0.05,delay_s=20

and, for the user-data stream, ``pevdrop=0.05,pevdup=0.05,pevreorder=0.05,pevdelay=0.05``.

A spec describes the seeded, probabilistic part of a plan and the exchange's
conditions (clock skew, query lag); scripted steps are for tests, in Python.
``""`` and ``none`` mean no faults. Anything else that does not parse raises
:class:`FaultSpecError`, naming the offending pair, so a typo in a soak run's
flags fails at start instead of silently testing nothing.
"""

from __future__ import annotations

import math
from typing import final

import attrs

from .faults import ORDER_ROUTES, SIGNED_ROUTES, FaultPlan

__all__ = ["SPEC_KEYS", "FaultSpecError", "format_fault_spec", "parse_fault_spec"]

#: Spec key -> (FaultPlan attribute, what it means).
SPEC_KEYS: dict[str, tuple[str, str]] = {
    "seed": ("seed", "seeds the per-request draws (integer)"),
    "pdrop": ("p_drop", "probability: the request never reaches the exchange"),
    "plost": ("p_lost", "probability: applied, then the connection dies unanswered"),
    "p503unknown": ("p_503_unknown", 'probability: applied, then 503 "Unknown error"'),
    "pdelay": ("p_delay", "probability: applied, answered delay_s later"),
    "pcorrupt": ("p_corrupt", "probability: applied, answered 200 with a truncated body"),
    "pcancelrace": ("p_cancel_race", "probability: a cancel finds its order just filled (-2011)"),
    "delay_s": ("delay_s", "seconds a delayed answer takes (default 30)"),
    "skew_ms": ("skew_ms", "ms added to the exchange's clock (integer, may be negative)"),
    "query_lag_ms": ("query_lag_ms", "ms a new order stays invisible to GET order (integer)"),
    "routes": ("routes", "where probabilities apply: orders (default) or signed"),
    "pevdrop": ("p_event_drop", "probability: a stream event is lost to one connection"),
    "pevdup": ("p_event_dup", "probability: a stream event reaches one connection twice"),
    "pevreorder": ("p_event_reorder", "probability: a stream event comes after the next one"),
    "pevdelay": ("p_event_delay", "probability: a stream event comes evdelay_s late"),
    "evdelay_s": ("event_delay_s", "seconds a delayed stream event takes (default 5)"),
}
_INTEGERS = frozenset({"seed", "skew_ms", "query_lag_ms"})
_ROUTE_SETS = {"orders": ORDER_ROUTES, "signed": SIGNED_ROUTES}


@final
@attrs.define(auto_exc=True, eq=False)
class FaultSpecError(ValueError):
    """A fault spec that does not describe a plan.

    Attributes:
        spec: The whole spec as given.
        reason: What is wrong with it.
    """

    spec: str
    reason: str

    def __str__(self) -> str:
        return f"bad fault spec {self.spec!r}: {self.reason}"


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_fault_spec(spec: str) -> FaultPlan:
    """Parse ``key=value,key=value`` into a :class:`FaultPlan`.

    Args:
        spec: The spec; see :data:`SPEC_KEYS` for the keys. Empty or ``none``
            gives a plan with no faults.

    Returns:
        The plan, with :data:`~trio_fapi.sim.faults.ORDER_ROUTES` unless
        ``routes=signed`` was given.

    Raises:
        FaultSpecError: An item without ``=``, an unknown or repeated key, a
            value that is not a number of the right kind, a probability
            outside [0, 1], probabilities that sum past 1, or a negative
            delay or lag.
    """
    text = spec.strip()
    if text in ("", "none"):
        return FaultPlan()
    values: dict[str, object] = {}
    for item in text.split(","):
        key, sep, raw = (part.strip() for part in item.partition("="))
        if not sep or not key:
            raise FaultSpecError(spec, f"{item.strip()!r} is not key=value")
        if key not in SPEC_KEYS:
            raise FaultSpecError(
                spec, f"unknown key {key!r} (known: {', '.join(sorted(SPEC_KEYS))})"
            )
        field = SPEC_KEYS[key][0]
        if field in values:
            raise FaultSpecError(spec, f"{key!r} is given twice")
        values[field] = _value(spec, key, raw)
    try:
        return FaultPlan(**values)  # type: ignore[arg-type]
    except ValueError as exc:
        raise FaultSpecError(spec, str(exc)) from None


def _value(spec: str, key: str, raw: str) -> object:
    if key == "routes":
        if raw not in _ROUTE_SETS:
            raise FaultSpecError(spec, f"routes must be one of {sorted(_ROUTE_SETS)}, not {raw!r}")
        return _ROUTE_SETS[raw]
    integer = key in _INTEGERS
    try:
        return int(raw, 10) if integer else _number(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise FaultSpecError(spec, f"{key}={raw!r} is not {kind}") from None


def format_fault_spec(plan: FaultPlan) -> str:
    """The spec that :func:`parse_fault_spec` turns back into ``plan``.

    Only settings that differ from the defaults are written (``none`` when
    nothing does).

    Raises:
        ValueError: The plan has scripted steps, or routes other than the
            ``orders`` and ``signed`` sets, which a spec cannot express.
    """
    if plan.steps:
        raise ValueError("a fault spec cannot express scripted steps")
    default = FaultPlan()
    parts: list[str] = []
    for key, (field, _) in SPEC_KEYS.items():
        value = getattr(plan, field)
        if value == getattr(default, field):
            continue
        if key == "routes":
            names = [name for name, routes in _ROUTE_SETS.items() if routes == value]
            if not names:
                raise ValueError("a fault spec can only name the 'orders' or 'signed' routes")
            parts.append(f"routes={names[0]}")
        else:
            parts.append(f"{key}={value!r}")
    return ",".join(parts) or "none"
