"""Errors the paper broker raises for bad market data and bad settings.

Orders refused by the venue raise the engine's own
:class:`~trio_fapi.protocol.errors.ExchangeRejected`, carrying Binance's code
(-2019 margin, -2022 reduce-only, -5021 FOK, -5022 post-only, ...), and bad
order input raises :class:`~trio_fapi.protocol.errors.InvalidOrder`, exactly
as the executor does, so code written against the paper broker handles errors
the same way live.
"""

from __future__ import annotations

import json

import attrs

from trio_fapi.protocol.errors import EngineError, ExchangeError
from trio_fapi.protocol.wire import exchange_error
from trio_fapi.sim.errors import SimError

__all__ = ["InvalidMarketData", "InvalidSetting", "rejected"]


@attrs.define(auto_exc=True, eq=False)
class InvalidMarketData(EngineError, ValueError):
    """Market data the broker cannot use (a crossed quote, a negative volume, a float)."""

    symbol: str
    reason: str

    def __str__(self) -> str:
        return f"market data for {self.symbol}: {self.reason}"


@attrs.define(auto_exc=True, eq=False)
class InvalidSetting(EngineError, ValueError):
    """A broker setting out of range (latency bounds, balances, leverage input)."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def rejected(error: SimError, path: str) -> ExchangeError:
    """The engine's error for a venue refusal, built by the one mapping point.

    The venue's refusal goes through :func:`~trio_fapi.protocol.wire.exchange_error`
    as if it had come over HTTP, so -2019 becomes the same
    :class:`~trio_fapi.protocol.errors.ExchangeRejected` the executor raises.
    """
    body = json.dumps(error.to_wire()).encode()
    return exchange_error(error.http_status, body, path=path)
