"""Which error answers are throttling, and what each says about the budget.

Read by the REST pool after every non-2xx answer, so the limiter hears about
429, 418, -1015 and 503 -1008 with the facts it needs to pause the right windows
for the right time (binance-fapi.md section 3.3). Pure.
"""

from __future__ import annotations

import re

from .errors import ExchangeError, ExchangeUnavailable, IpBanned, RateLimited
from .messages import ThrottleKind, ThrottleObserved

__all__ = ["throttle_for"]

_BANNED_UNTIL = re.compile(r"banned until (\d{10,})", re.IGNORECASE)
_PER_WINDOW = re.compile(r"per\s+(\d+)\s*(SECOND|MINUTE|HOUR|DAY|S|M|H|D)\b", re.IGNORECASE)
_UNIT_S = {"S": 1.0, "M": 60.0, "H": 3600.0, "D": 86400.0}


def _window_s(msg: str) -> float | None:
    match = _PER_WINDOW.search(msg)
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_S[match.group(2)[0].upper()]


def throttle_for(error: ExchangeError, *, retry_after_s: float | None) -> ThrottleObserved | None:
    """The limiter's view of an error answer, or None if it is not about load.

    Args:
        error: The typed error built from the answer.
        retry_after_s: The ``Retry-After`` header, when sent.
    """
    status = error.http_status
    if isinstance(error, IpBanned) or status == 418:
        match = _BANNED_UNTIL.search(error.msg)
        return ThrottleObserved(
            kind=ThrottleKind.BANNED,
            http_status=status,
            retry_after_s=retry_after_s,
            ban_until_ms=int(match.group(1)) if match else None,
        )
    if error.code == -1015:
        return ThrottleObserved(
            kind=ThrottleKind.ORDER_RATE,
            http_status=status,
            retry_after_s=retry_after_s,
            window_s=_window_s(error.msg),
        )
    if isinstance(error, RateLimited) or (error.code == -1003 and status != 503):
        return ThrottleObserved(
            kind=ThrottleKind.IP_WEIGHT, http_status=status, retry_after_s=retry_after_s
        )
    if error.code == -1008 or (status == 503 and "throttled" in error.msg.lower()):
        return ThrottleObserved(
            kind=ThrottleKind.SERVER_BUSY, http_status=status, retry_after_s=retry_after_s
        )
    if isinstance(error, ExchangeUnavailable) or status >= 500:
        return ThrottleObserved(
            kind=ThrottleKind.SERVER_ERROR, http_status=status, retry_after_s=retry_after_s
        )
    return None
