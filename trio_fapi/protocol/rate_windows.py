"""One Binance rate window, counted the way the server counts it.

Binance's windows are fixed, aligned to the epoch on the server's clock: the
minute window resets at every whole minute, the 10-second window at every
multiple of ten seconds (binance-fapi.md section 3). Counting on a different
schedule (a sliding log, a token bucket) either wastes budget or breaks the
limit at a boundary, so the engine keeps the same fixed windows and errs on the
safe side at the edge: a request admitted in the last ``edge_s`` of a window may
reach the server after the reset, so it is counted in both windows.

Pure: the caller passes the server time in seconds.
"""

from __future__ import annotations

import math
from typing import Literal

from .filters import RateLimit

__all__ = ["Window", "WindowKind"]

WindowKind = Literal["weight", "orders"]


class Window:
    """One fixed window with its limit, reserve and local usage estimate.

    Attributes:
        kind: ``"weight"`` (IP request weight) or ``"orders"`` (account orders).
        length_s: The window length in seconds.
        limit: The exchange's limit for one window.
        reserve: Units only the priority lane may use, except near the window's
            end, when unused reserve is released to every lane (it would expire
            unused otherwise).
        used: The units counted in the current window.
    """

    __slots__ = ("_next_used", "index", "kind", "length_s", "limit", "reserve", "used")

    def __init__(self, rate: RateLimit, reserve_fraction: float) -> None:
        self.kind: WindowKind = "weight" if rate.kind == "REQUEST_WEIGHT" else "orders"
        self.length_s = rate.window_s
        self.limit = rate.limit
        self.reserve = math.ceil(rate.limit * reserve_fraction)
        self.index = -1
        self.used = 0
        self._next_used = 0

    @property
    def name(self) -> str:
        """``weight_1m``, ``orders_10s``...: the suffix of Binance's usage headers."""
        if self.length_s < 60:
            return f"{self.kind}_{int(self.length_s)}s"
        if self.length_s < 3600:
            return f"{self.kind}_{int(self.length_s // 60)}m"
        if self.length_s < 86400:
            return f"{self.kind}_{int(self.length_s // 3600)}h"
        return f"{self.kind}_{int(self.length_s // 86400)}d"

    def roll(self, now_s: float) -> None:
        """Start a new window when ``now_s`` has crossed the boundary."""
        idx = int(now_s // self.length_s)
        if idx != self.index:
            carried = self._next_used if idx == self.index + 1 else 0
            self.index, self.used, self._next_used = idx, carried, 0

    def cost(self, weight: int, orders: int) -> int:
        """What a request with this weight and order count costs in this window."""
        return weight if self.kind == "weight" else orders

    def cap(self, now_s: float, *, priority: bool, factor: float, release_s: float) -> int:
        """How many units a lane may have counted in this window now.

        Args:
            now_s: Server time in seconds.
            priority: The priority lane may use the reserve.
            factor: The adaptive factor (at most 1) that lowers every limit.
            release_s: In the window's last ``release_s`` the reserve is open
                to every lane.
        """
        effective = math.floor(self.limit * min(1.0, factor))
        if priority or self.remaining_s(now_s) <= release_s:
            return effective
        return effective - self.reserve

    def fits(self, cost: int, cap: int) -> bool:
        """Whether ``cost`` more units stay within ``cap``."""
        return cost == 0 or self.used + cost <= cap

    def charge(self, cost: int, now_s: float, edge_s: float) -> None:
        """Count an admitted request (also in the next window near the edge)."""
        self.roll(now_s)
        self.used += cost
        if self.remaining_s(now_s) < edge_s:
            self._next_used += cost

    def observe(self, used: int, now_s: float) -> None:
        """Adopt the server's count when it is higher than ours."""
        self.roll(now_s)
        self.used = max(self.used, used)

    def forget(self) -> None:
        """Drop the local estimate; the next usage header restores it."""
        self.index, self.used, self._next_used = -1, 0, 0

    def remaining_s(self, now_s: float) -> float:
        """Seconds until this window resets."""
        return (int(now_s // self.length_s) + 1) * self.length_s - now_s
