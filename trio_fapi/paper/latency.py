"""Simulated network latency on trio's clock, from a seeded generator.

Each order-entry call (and each request through the paper transport) draws
one round trip, a whole number of milliseconds between ``min_ms`` and
``max_ms``. The venue acts halfway through it (the request's trip out) and the
answer arrives at the end (the trip back), so the market can move between
deciding and being filled, as it does live. The waits are ``trio.sleep``:
under ``trio.testing.MockClock`` (the ``autojump_clock`` fixture) they take no
wall time, and the same seed draws the same delays.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

import attrs
import trio

from .errors import InvalidSetting

__all__ = ["LatencyModel"]

_T = TypeVar("_T")


def _check_ms(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidSetting(name=name, reason=f"must be whole milliseconds (int), got {value!r}")
    if value < 0:
        raise InvalidSetting(name=name, reason="must not be negative")
    return value


@attrs.define(eq=False)
class LatencyModel:
    """Round-trip delays drawn uniformly from ``[min_ms, max_ms]``.

    Attributes:
        min_ms: The shortest round trip.
        max_ms: The longest round trip (``0`` disables latency).
        seed: Seeds the draws, so a run can be repeated exactly.
    """

    min_ms: int = 0
    max_ms: int = 0
    seed: int = 0
    _rng: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.set(self.min_ms, self.max_ms)
        self._rng = random.Random(f"latency:{self.seed}")

    def set(self, min_ms: int, max_ms: int) -> None:
        """Change the bounds (the generator keeps its sequence).

        Raises:
            InvalidSetting: Not whole non-negative milliseconds, or ``min_ms > max_ms``.
        """
        low, high = _check_ms(min_ms, "min_ms"), _check_ms(max_ms, "max_ms")
        if low > high:
            raise InvalidSetting(name="min_ms", reason=f"{low} is above max_ms {high}")
        self.min_ms, self.max_ms = low, high

    def draw_ms(self) -> int:
        """The next round trip in milliseconds."""
        if self.max_ms == 0:
            return 0
        return self._rng.randint(self.min_ms, self.max_ms)

    async def round_trip(self, act: Callable[[], _T]) -> _T:
        """Wait the way out, run ``act`` (the venue acting), wait the way back.

        ``act`` runs exactly once and atomically. If the caller is cancelled on
        the way back, what ``act`` did stays done, as on a real exchange; an
        exception from ``act`` (a refusal) also arrives after the way back.
        """
        total = self.draw_ms()
        out_ms = total // 2
        back_s = (total - out_ms) / 1000
        await trio.sleep(out_ms / 1000)
        try:
            result = act()
        except Exception:
            await trio.sleep(back_s)
            raise
        await trio.sleep(back_s)
        return result
