"""The account-level halt: after the exchange refuses the key, stop sending.

-2015 (invalid key, IP or permissions), -2014 (bad key format) and -1022
(invalid signature) do not go away by retrying: the key was revoked, its IP
whitelist changed, or the secret is wrong. Every further keyed request would be
refused the same way and, repeated, gets the IP banned. So the first such
answer halts every keyed request of the executor, which are then refused with
:class:`~trio_fapi.protocol.errors.TradingHalted` before any I/O, until the
operator calls ``Executor.resume_trading()`` (faults.md row 30).
"""

from __future__ import annotations

import logging

import attrs

from trio_fapi.protocol.codes import BinanceErrorCode
from trio_fapi.protocol.endpoints import Endpoint, Security
from trio_fapi.protocol.errors import ExchangeError, TradingHalted

__all__ = ["HALTING_CODES", "AccountHalt"]

log = logging.getLogger("trio_fapi.halt")

#: Answers that mean the key itself is refused.
HALTING_CODES = frozenset(
    {
        BinanceErrorCode.REJECTED_MBX_KEY,
        BinanceErrorCode.BAD_API_KEY_FMT,
        BinanceErrorCode.INVALID_SIGNATURE,
    }
)


class AccountHalt:
    """Shared by every requester of one executor; owned by the executor."""

    def __init__(self) -> None:
        self._error: TradingHalted | None = None

    @property
    def error(self) -> TradingHalted | None:
        """The refusal that halted trading (a fresh copy to raise), or ``None``.

        A copy each time: raising one shared exception object again and again
        would chain every raise's traceback onto it.
        """
        return None if self._error is None else attrs.evolve(self._error)

    def refuse(self, endpoint: Endpoint) -> TradingHalted | None:
        """The error to answer ``endpoint`` with, if it needs the key and trading is halted."""
        if endpoint.security in (Security.NONE, Security.MARKET_DATA):
            return None
        return self.error

    def observe(self, error: ExchangeError) -> None:
        """Halt if ``error`` says the key is refused."""
        if self._error is not None or error.code not in HALTING_CODES:
            return
        self._error = TradingHalted(
            http_status=error.http_status, code=error.code, msg=error.msg, path=error.path
        )
        log.critical("trading halted: %s", self._error)

    def resume(self) -> None:
        """Lift the halt (after the key, its permissions or its IP list were fixed)."""
        if self._error is not None:
            log.warning("trading resumed after: %s", self._error)
        self._error = None
