"""Credentials that cannot leak by accident.

``attrs.field(repr=False)`` is not enough: ``attrs.asdict`` still copies the value.
A :class:`Secret` is a plain object whose ``repr``/``str`` are redacted, which
refuses pickling and JSON, and which hands out its value only through
:meth:`Secret.reveal` (called by the signing function and nowhere else).
"""

from __future__ import annotations

from typing import NoReturn, final

import attrs

__all__ = ["Credentials", "Secret"]


@final
class Secret:
    """A string that never prints."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret holds a str")
        self._value = value

    def reveal(self) -> str:
        """The raw value. Call only where it is used (signing, the key header)."""
        return self._value

    def hint(self) -> str:
        """A short non-secret hint (first four characters), for logs."""
        return f"{self._value[:4]}..." if len(self._value) > 8 else "***"

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")


def _secret(value: str | Secret) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


def _opt_secret(value: str | Secret | None) -> Secret | None:
    return None if value is None else _secret(value)


@final
@attrs.frozen(kw_only=True)
class Credentials:
    """An API key and either an HMAC secret or an RSA private key (PEM)."""

    api_key: Secret = attrs.field(converter=_secret)
    api_secret: Secret | None = attrs.field(default=None, converter=_opt_secret)
    private_key: Secret | None = attrs.field(default=None, converter=_opt_secret)
    private_key_passphrase: Secret | None = attrs.field(default=None, converter=_opt_secret)

    def __attrs_post_init__(self) -> None:
        if self.api_secret is None and self.private_key is None:
            raise ValueError("credentials need api_secret (HMAC) or private_key (RSA)")
