"""The engine's errors: one tree, one mapping point for exchange answers.

::

    EngineError
    ├── InvalidOrder (ValueError)            refused before any I/O (faults.md 54-61)
    │   ├── InvalidNumber                    float, bool, NaN, inf, zero, negative, bad text
    │   ├── UnknownSymbol                    not listed, wrong case, not TRADING
    │   ├── InvalidClientOrderId             illegal characters, too long, reused while open
    │   ├── InvalidCombination               parameters Binance refuses together
    │   └── FilterViolation(code)            tick, step, min/max, notional, percent band
    ├── Refused                              never sent: the engine said no
    │   ├── Overloaded                       a queue bound was hit
    │   ├── DeadlineExceeded                 the request's own deadline passed while waiting
    │   ├── CredentialsRequired              a keyed endpoint, and no keys were configured
    │   └── EngineClosed                     the executor is shutting down
    ├── ExchangeError(http_status, code, msg)
    │   ├── RateLimited(retry_after)         429: not executed
    │   ├── IpBanned(retry_after)            418: not executed, the IP is banned
    │   ├── ExchangeRejected                 4xx with a Binance code: not executed
    │   │   └── TradingHalted                the key was refused; nothing is sent until resumed
    │   └── ExchangeUnavailable              5xx: may or may not have executed
    ├── TransportFailed
    │   ├── ConnectionFailed                 never reached the exchange
    │   ├── ConnectionLost                   failed after the request may have been written
    │   └── RequestTimedOut                  the engine's deadline fired mid-request
    ├── OutcomeUnknown                       a write's outcome is not yet known
    ├── NotFound                             the exchange has no such order
    └── InvalidOrderTransition (RuntimeError) a bug: an event the state table forbids

Every error's ``str()`` reads as a sentence and never carries a header, a signed
URL, a key or a signature: httpx exceptions are translated into these from
redacted data, never chained.
"""

from __future__ import annotations

import attrs

__all__ = [
    "ConnectionFailed",
    "ConnectionLost",
    "CredentialsRequired",
    "DeadlineExceeded",
    "EngineClosed",
    "EngineError",
    "ExchangeError",
    "ExchangeRejected",
    "ExchangeUnavailable",
    "FilterViolation",
    "InvalidClientOrderId",
    "InvalidCombination",
    "InvalidNumber",
    "InvalidOrder",
    "InvalidOrderTransition",
    "IpBanned",
    "NotFound",
    "OutcomeUnknown",
    "Overloaded",
    "RateLimited",
    "TradingHalted",
    "Refused",
    "RequestTimedOut",
    "TransportFailed",
    "UnknownSymbol",
]


class EngineError(Exception):
    """Base of every error the engine raises or returns."""


class InvalidOrder(EngineError, ValueError):
    """Bad input, refused before any limiter token or byte was spent."""


@attrs.define(auto_exc=True, eq=False)
class InvalidNumber(InvalidOrder):
    """A number that is not exact, finite and in range."""

    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}={self.value}: {self.reason}"


@attrs.define(auto_exc=True, eq=False)
class UnknownSymbol(InvalidOrder):
    """A symbol the cached exchangeInfo does not list as TRADING."""

    symbol: str
    reason: str = "not listed in exchangeInfo"

    def __str__(self) -> str:
        return f"symbol {self.symbol}: {self.reason}"


@attrs.define(auto_exc=True, eq=False)
class InvalidClientOrderId(InvalidOrder):
    """A client order id Binance would refuse (-4015) or that is already open (-4116)."""

    value: str
    reason: str = "must match ^[.A-Z:/a-z0-9_-]{1,36}$"

    def __str__(self) -> str:
        return f"client order id {self.value}: {self.reason}"


@attrs.define(auto_exc=True, eq=False)
class InvalidCombination(InvalidOrder):
    """Parameters that Binance refuses together (faults.md row 60)."""

    reason: str

    def __str__(self) -> str:
        return self.reason


@attrs.define(auto_exc=True, eq=False)
class FilterViolation(InvalidOrder):
    """A value outside the symbol's exchange filters.

    ``code`` is the Binance error code the exchange would have answered with,
    so callers can treat a local refusal like the remote one.
    """

    filter: str
    code: int
    reason: str

    def __str__(self) -> str:
        return f"{self.filter} (would be {self.code}): {self.reason}"


class Refused(EngineError):
    """The engine declined to send the request; nothing reached the exchange."""


@attrs.define(auto_exc=True, eq=False)
class Overloaded(Refused):
    """A bounded queue was full; retry later or shed load."""

    queue: str

    def __str__(self) -> str:
        return f"overloaded: {self.queue} is full"


@attrs.define(auto_exc=True, eq=False)
class DeadlineExceeded(Refused):
    """The request's deadline passed before it could be sent."""

    waited_s: float

    def __str__(self) -> str:
        return f"deadline passed after waiting {self.waited_s:.3f}s; not sent"


@attrs.define(auto_exc=True, eq=False)
class CredentialsRequired(Refused):
    """The endpoint needs an API key and the executor has none."""

    path: str

    def __str__(self) -> str:
        return f"{self.path} needs API credentials; none are configured"


@attrs.define(auto_exc=True, eq=False)
class EngineClosed(Refused):
    """The executor is closed or closing."""

    def __str__(self) -> str:
        return "the executor is closed"


@attrs.define(auto_exc=True, eq=False)
class ExchangeError(EngineError):
    """An answer from the exchange that is not a success."""

    http_status: int
    code: int | None
    msg: str
    path: str = ""

    def __str__(self) -> str:
        code = "" if self.code is None else f" code {self.code}"
        where = f" on {self.path}" if self.path else ""
        return f"HTTP {self.http_status}{code}{where}: {self.msg}"


@attrs.define(auto_exc=True, eq=False)
class RateLimited(ExchangeError):
    """429: a rate limit was broken; the request was not executed."""

    retry_after: float | None = None


@attrs.define(auto_exc=True, eq=False)
class IpBanned(ExchangeError):
    """418: the IP is banned until ``retry_after`` seconds from the answer."""

    retry_after: float | None = None


@attrs.define(auto_exc=True, eq=False)
class ExchangeRejected(ExchangeError):
    """A definitive refusal with a Binance code: the request was not executed."""


@attrs.define(auto_exc=True, eq=False)
class TradingHalted(ExchangeRejected):
    """The exchange refused the API key (-2015 / -2014 / -1022): keyed calls stop.

    Carries the refusal that halted trading. Sending more requests with a key
    the exchange refuses cannot succeed and, repeated, gets the IP banned; the
    halt lasts until ``Executor.resume_trading()`` (faults.md row 30).
    """

    def __str__(self) -> str:
        return f"trading halted, nothing was sent: the API key was refused ({super().__str__()})"


@attrs.define(auto_exc=True, eq=False)
class ExchangeUnavailable(ExchangeError):
    """A 5xx or ambiguous answer: a write may or may not have executed."""


class TransportFailed(EngineError):
    """The HTTP exchange failed below the protocol level."""


@attrs.define(auto_exc=True, eq=False)
class ConnectionFailed(TransportFailed):
    """The request never reached the exchange (connect, DNS or TLS failure)."""

    reason: str

    def __str__(self) -> str:
        return f"connection failed: {self.reason}"


@attrs.define(auto_exc=True, eq=False)
class ConnectionLost(TransportFailed):
    """The connection failed after the request may have been written: outcome unknown."""

    reason: str

    def __str__(self) -> str:
        return f"connection lost: {self.reason}"


@attrs.define(auto_exc=True, eq=False)
class RequestTimedOut(TransportFailed):
    """The engine's own deadline fired after the request may have been written."""

    after_s: float
    path: str = ""

    def __str__(self) -> str:
        return f"no answer from {self.path or 'the exchange'} within {self.after_s:.3f}s"


@attrs.define(auto_exc=True, eq=False)
class OutcomeUnknown(EngineError):
    """A write's effect on the exchange is not known yet.

    The order is tracked as UNKNOWN and resolved by evidence (query by client
    order id, user stream); it is never resent blindly.
    """

    client_order_id: str
    cause: str

    def __str__(self) -> str:
        return f"outcome of {self.client_order_id} unknown: {self.cause}"


@attrs.define(auto_exc=True, eq=False)
class NotFound(EngineError):
    """The exchange has no order with this id (or does not show it yet)."""

    what: str

    def __str__(self) -> str:
        return f"not found: {self.what}"


@attrs.define(auto_exc=True, eq=False)
class InvalidOrderTransition(EngineError, RuntimeError):
    """An event the order state table does not allow: always a bug."""

    status: str
    event: str

    def __str__(self) -> str:
        return f"no transition from {self.status} on {self.event}"
