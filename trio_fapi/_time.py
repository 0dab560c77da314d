"""Wall-clock milliseconds anchored to trio's clock.

Binance wants epoch milliseconds in every signed request, but durations and
deadlines in the engine run on ``trio.current_time()``. :class:`AnchoredClock`
reads the wall clock once and then advances with trio's clock, so

- under ``MockClock`` the engine and the simulated exchange agree on "now"
  while virtual time jumps (no spurious -1021), and
- in production an NTP step of the host clock does not jump request timestamps
  (faults.md row 51); the measured server offset corrects the drift instead.
"""

from __future__ import annotations

import time

import trio

__all__ = ["AnchoredClock"]


class AnchoredClock:
    """Epoch milliseconds = wall time at anchoring + trio time elapsed since."""

    __slots__ = ("_epoch_ms", "_trio_t0")

    def __init__(self, epoch_ms: int | None = None) -> None:
        self._epoch_ms = int(time.time() * 1000) if epoch_ms is None else epoch_ms
        self._trio_t0 = trio.current_time()

    def __call__(self) -> int:
        # round, not int: float noise in trio time must not lose a millisecond.
        return self._epoch_ms + round((trio.current_time() - self._trio_t0) * 1000)
