"""Exact numbers at the boundary: parse strictly, print fixed-point.

Money never travels as float here. A float cannot say 0.1 exactly, NaN passes a
``<= 0`` check, and ``str(Decimal("0.0000001"))`` is ``1E-7``, which Binance
rejects (-1100/-1111). Every number that enters an order goes through
:func:`to_decimal`, and every number that leaves goes through :func:`fmt`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import InvalidNumber

__all__ = [
    "MAX_WIRE_NUMBER_LEN",
    "WIRE_NUMBER",
    "fmt",
    "parse_wire_amount",
    "parse_wire_decimal",
    "to_decimal",
]

#: What Binance accepts for a DECIMAL parameter: plain fixed-point, no sign
#: for quantities, no exponent, no spaces.
WIRE_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_EXACT_TEXT = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
#: What Binance prints for a price or quantity in a report: unsigned fixed-point.
_AMOUNT_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?")
#: Longer than any price, quantity or quote amount Binance prints (about 20
#: characters); longer text is hostile or broken, and is refused before Decimal
#: spends time on it.
MAX_WIRE_NUMBER_LEN = 64


def to_decimal(value: object, *, field: str, positive: bool = True) -> Decimal:
    """Turn a user-supplied number into a finite Decimal, or refuse it.

    Only exact inputs are accepted: ``Decimal``, ``int`` (not ``bool``) and
    fixed-point strings such as ``"0.001"``. Floats are refused because their
    binary value is not the number the user typed.

    Args:
        value: What the caller passed.
        field: The parameter name, for the error message.
        positive: Require the value to be strictly greater than zero.

    Returns:
        The exact value.

    Raises:
        InvalidNumber: For floats, bools, ``None``, non-numeric or padded strings,
            NaN, infinities, and (with ``positive``) zero or negative values.
    """
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise InvalidNumber(field=field, value=repr(value), reason=_kind_reason(value))
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        # fullmatch: with .match, "$" also matches before a trailing newline ("1\n").
        if not _EXACT_TEXT.fullmatch(value):
            raise InvalidNumber(field=field, value=repr(value), reason="not a fixed-point number")
        result = Decimal(value)
    else:
        raise InvalidNumber(
            field=field, value=repr(value), reason=f"unsupported type {type(value).__name__}"
        )
    if not result.is_finite():
        raise InvalidNumber(field=field, value=repr(value), reason="not finite")
    if positive and result <= 0:
        raise InvalidNumber(field=field, value=repr(value), reason="must be greater than zero")
    return result


def _kind_reason(value: object) -> str:
    if isinstance(value, bool):
        return "bool is not a number"
    if value is None:
        return "missing"
    return "float is inexact; pass Decimal or a string"


def fmt(value: Decimal) -> str:
    """Print a Decimal the way Binance reads it: fixed-point, no exponent.

    Trailing zeros are kept or dropped as the value's exponent says; ``-0`` is
    printed as ``0``.
    """
    text = format(value, "f")
    if text.startswith("-") and value == 0:
        return text[1:]
    return text


def parse_wire_decimal(value: object, *, field: str) -> Decimal:
    """Parse a number that Binance sent (a JSON string, or an int for counts).

    Raises:
        InvalidNumber: When the value is not an exact finite number (a JSON float
            such as ``1e-7`` counts as malformed; Binance sends strings).
    """
    if isinstance(value, str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise InvalidNumber(field=field, value=repr(value), reason="not a number") from None
        if not result.is_finite():
            raise InvalidNumber(field=field, value=repr(value), reason="not finite")
        return result
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise InvalidNumber(field=field, value=repr(value), reason="expected a numeric string")


def parse_wire_amount(value: object, *, field: str) -> Decimal:
    """Parse a price or quantity from an order report: unsigned fixed-point text only.

    Binance prints every amount of an order as a plain string such as
    ``"0.005"``. Anything else in that place (``"1e999999"``, ``"-0.002"``, a JSON
    number, 10 kB of digits) did not come from a healthy matching engine, and a
    parser that accepts it lets one corrupt body set a fill no query can undo
    (faults.md row 20). :func:`parse_wire_decimal` stays lenient for fields that
    are counts or may be signed.

    Raises:
        InvalidNumber: For anything but unsigned fixed-point text of at most
            :data:`MAX_WIRE_NUMBER_LEN` characters. The error's ``value`` is a
            short preview, never the whole input.
    """
    if not isinstance(value, str):
        raise InvalidNumber(
            field=field, value=_preview(value), reason="expected a fixed-point string"
        )
    if len(value) > MAX_WIRE_NUMBER_LEN:
        raise InvalidNumber(
            field=field,
            value=_preview(value),
            reason=f"longer than {MAX_WIRE_NUMBER_LEN} characters",
        )
    if not _AMOUNT_TEXT.fullmatch(value):
        raise InvalidNumber(
            field=field, value=_preview(value), reason="not an unsigned fixed-point number"
        )
    return Decimal(value)


def _preview(value: object, limit: int = 24) -> str:
    """A short description of ``value``, so an error message never carries a huge input.

    Only floats, bools and ``None`` are shown whole (their repr is short); an int
    may have thousands of digits, and a container any size.
    """
    if isinstance(value, str):
        return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} chars)"
    if value is None or isinstance(value, bool | float):
        return repr(value)
    return f"<{type(value).__name__}>"
