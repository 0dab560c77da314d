"""Retry policy: exponential back-off with seeded jitter, stamina's parameter names.

The policy decides only *when*; *whether* a failure may be retried at all is
decided by its outcome class (see :func:`retryable`). Placements are never
retried after an UNKNOWN outcome: that is how duplicate orders happen.
"""

from __future__ import annotations

import random

import attrs

from trio_fapi.protocol.codes import ErrorAction, action_for
from trio_fapi.protocol.errors import (
    ExchangeError,
    ExchangeRejected,
    IpBanned,
    RateLimited,
)
from trio_fapi.protocol.messages import RestFailed
from trio_fapi.protocol.wire import Outcome

__all__ = ["RetryPolicy", "retryable"]


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How many attempts, and how long to wait between them."""

    attempts: int = 4
    wait_initial: float = 0.2
    wait_max: float = 5.0
    wait_jitter: float = 0.2
    wait_exp_base: float = 2.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt number ``attempt + 1`` (``attempt`` >= 1)."""
        base = min(self.wait_max, self.wait_initial * self.wait_exp_base ** (attempt - 1))
        return base + rng.uniform(0, self.wait_jitter * base)


def retryable(failure: RestFailed, *, idempotent: bool) -> bool:
    """Whether resending the same request is safe after ``failure``.

    - NOT_SENT: always (nothing reached the exchange).
    - REJECTED: only when the refusal is transient (429, 418, -1021 clock skew,
      503 "Service Unavailable", -1001); a deterministic refusal would fail again.
    - UNKNOWN: only for idempotent requests (reads). A write with an unknown
      outcome is resolved by evidence instead.
    """
    if failure.outcome is Outcome.NOT_SENT:
        return True
    if failure.outcome is Outcome.UNKNOWN:
        return idempotent
    error = failure.error
    if isinstance(error, RateLimited | IpBanned):
        # Not executed. The limiter has paused (or banned) the window, so the
        # retry waits there until the server allows it, or is refused at its
        # deadline (at once when a ban outlasts it).
        return True
    if isinstance(error, ExchangeRejected) and error.http_status >= 500:
        return True
    if isinstance(error, ExchangeError):
        return action_for(error.code) is ErrorAction.RETRY and error.code is not None
    return False
