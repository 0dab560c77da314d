"""Request parameters: where they come from, and strict typed reading.

Binance reads signed parameters from the query string, from an
``application/x-www-form-urlencoded`` body, or from both; when a name appears
in both the query's value wins (binance-fapi.md 4.1). Numbers must be plain
fixed-point text: an exponent or a stray character is -1100, and more decimals
than the symbol's tick or step allows is -1111.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TypeVar, final
from urllib.parse import parse_qsl

import attrs

from .errors import SimError

__all__ = ["Params", "decimals_of", "merge_params", "strip_signature"]

_E = TypeVar("_E", bound=enum.Enum)
_DECIMAL = re.compile(r"^-?[0-9]{1,20}(\.[0-9]{1,20})?$")
_INTEGER = re.compile(r"^-?[0-9]{1,20}$")
_DECIMAL_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
_INTEGER_RANGE = "^[0-9]{1,20}$"


def merge_params(query: str, body: str) -> dict[str, str]:
    """Parameters from the body, overridden by those in the query string."""
    merged = dict(parse_qsl(body, keep_blank_values=True))
    merged.update(parse_qsl(query, keep_blank_values=True))
    return merged


def strip_signature(raw: str) -> str:
    """``raw`` without its ``signature=...`` pair, byte for byte otherwise."""
    if "signature=" not in raw:
        return raw
    return "&".join(part for part in raw.split("&") if not part.startswith("signature="))


def decimals_of(value: Decimal, *, written: bool = False) -> int:
    """How many decimals ``value`` has: as written, or without trailing zeros.

    A tick or step allows as many decimals as it is written with (``0.10``
    allows two, like Binance's ``pricePrecision`` for BTCUSDT); a sent number
    is counted without its trailing zeros (``0.0010`` has three).
    """
    exponent = (value if written else value.normalize()).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


@final
@attrs.frozen
class Params:
    """Typed, Binance-strict access to one request's parameters."""

    values: Mapping[str, str]

    def has(self, name: str) -> bool:
        """Whether ``name`` was sent with a non-empty value."""
        return bool(self.values.get(name))

    def text(self, name: str, *, required: bool = False) -> str | None:
        """The raw value; empty counts as absent. -1102 if required and absent."""
        value = self.values.get(name)
        if not value:
            if required:
                raise SimError.of(-1102, name)
            return None
        return value

    def require(self, name: str) -> str:
        """The raw value of a mandatory parameter (-1102 when absent)."""
        value = self.text(name, required=True)
        assert value is not None
        return value

    def decimal(
        self, name: str, *, unit: Decimal | None = None, required: bool = False
    ) -> Decimal | None:
        """A fixed-point number: -1100 for bad text, -1111 for too many decimals.

        Args:
            name: The parameter.
            unit: The tick or step whose precision caps the decimals.
            required: Raise -1102 when absent.
        """
        raw = self.text(name, required=required)
        if raw is None:
            return None
        if not _DECIMAL.fullmatch(raw):
            raise SimError.of(-1100, name, _DECIMAL_RANGE)
        value = Decimal(raw)
        if unit is not None and unit > 0:
            places = decimals_of(value) if value != 0 else 0
            if places > decimals_of(unit, written=True):
                raise SimError.of(-1111)
        return value

    def integer(self, name: str, *, required: bool = False) -> int | None:
        """A whole number (ids, times, limits); -1100 for anything else."""
        raw = self.text(name, required=required)
        if raw is None:
            return None
        if not _INTEGER.fullmatch(raw):
            raise SimError.of(-1100, name, _INTEGER_RANGE)
        return int(raw)

    def boolean(self, name: str) -> bool | None:
        """``true`` / ``false`` in any case; -1130 for anything else."""
        raw = self.text(name)
        if raw is None:
            return None
        lowered = raw.lower()
        if lowered not in ("true", "false"):
            raise SimError.of(-1130, name)
        return lowered == "true"

    def choice(self, name: str, kind: type[_E], code: int, *, required: bool = False) -> _E | None:
        """An enum value (exact case); ``code`` when it is not one of ``kind``."""
        raw = self.text(name, required=required)
        if raw is None:
            return None
        for member in kind:
            if member.value == raw:
                return member
        if code == -1130:
            raise SimError.of(code, name)
        raise SimError.of(code)
