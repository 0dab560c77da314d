"""Adaptive limits: recent throttling lowers every window, then it recovers.

The windows' published limits are what the exchange promises on a quiet day.
When it answers 429, 503 "throttled" or keeps timing out, something the engine
cannot see is spending the budget (another process on the IP, a server under
load), so the limiter multiplies every limit by a factor: each such error
multiplies the factor by ``backoff`` (down to ``floor``), and it climbs back by
``recovery_per_s`` towards ``ceiling`` while things stay quiet (additive
increase, multiplicative decrease, as TCP does for the same reason).

Pure: the caller passes the time.
"""

from __future__ import annotations

from typing import Literal, final

import attrs

__all__ = ["ADAPTIVE_PRESETS", "AdaptiveMode", "AdaptivePolicy", "AdaptiveState"]

_FRACTION = attrs.validators.and_(attrs.validators.gt(0), attrs.validators.le(1))

AdaptiveMode = Literal["off", "conservative", "aggressive"]


@final
@attrs.frozen(kw_only=True)
class AdaptivePolicy:
    """How far errors push the limits down and how fast they come back.

    Attributes:
        ceiling: The factor when healthy (1 = the published limits).
        backoff: Multiplies the factor on each throttling error.
        floor: The factor never goes below this.
        recovery_per_s: Added to the factor per quiet second.
    """

    ceiling: float = attrs.field(validator=_FRACTION)
    backoff: float = attrs.field(validator=_FRACTION)
    floor: float = attrs.field(validator=_FRACTION)
    recovery_per_s: float = attrs.field(validator=attrs.validators.ge(0))


#: ``off`` never adapts; ``aggressive`` uses the full limits and halves the gap
#: slowly; ``conservative`` keeps 20% headroom and backs off hard.
ADAPTIVE_PRESETS: dict[AdaptiveMode, AdaptivePolicy] = {
    "off": AdaptivePolicy(ceiling=1.0, backoff=1.0, floor=1.0, recovery_per_s=0.0),
    "aggressive": AdaptivePolicy(ceiling=1.0, backoff=0.8, floor=0.5, recovery_per_s=0.02),
    "conservative": AdaptivePolicy(ceiling=0.8, backoff=0.5, floor=0.2, recovery_per_s=0.005),
}


@attrs.define
class AdaptiveState:
    """The current factor under one policy."""

    policy: AdaptivePolicy
    _factor: float = attrs.field(init=False)
    _at: float = attrs.field(init=False, default=0.0)

    def __attrs_post_init__(self) -> None:
        self._factor = self.policy.ceiling

    def factor(self, now: float) -> float:
        """The factor at ``now``, recovery included."""
        p = self.policy
        return min(p.ceiling, self._factor + max(0.0, now - self._at) * p.recovery_per_s)

    def penalize(self, now: float) -> None:
        """One throttling error was observed at ``now``."""
        p = self.policy
        self._factor = max(p.floor, self.factor(now) * p.backoff)
        self._at = now

    def recovering(self, now: float) -> bool:
        """Whether the factor is still below its ceiling (limits will grow)."""
        return self.factor(now) < self.policy.ceiling

    def reset(self) -> None:
        """Forget past errors."""
        self._factor = self.policy.ceiling
        self._at = 0.0
