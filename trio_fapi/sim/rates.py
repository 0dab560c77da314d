"""Rate limits counted the way Binance counts them: fixed windows on the clock.

REQUEST_WEIGHT windows are per IP and charge every request its endpoint
weight; ORDERS windows are per account and charge order placements. A window
of ``n`` units starts at a multiple of its length (a minute window resets at
every whole minute of the server clock), so ``Retry-After`` is the time to the
window's end. A request that would break a limit is refused with 429 and is
not counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import final

import attrs

from trio_fapi.protocol.filters import RateLimit

from .errors import message_for

__all__ = ["RateDecision", "RateLimiter"]

_UNIT_LETTER = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}
_UNIT_WORD = {"SECOND": "s", "MINUTE": "m", "HOUR": "h", "DAY": "d"}


@final
@attrs.frozen(kw_only=True)
class RateDecision:
    """Whether a request may proceed, and the usage headers to send either way."""

    allowed: bool
    headers: dict[str, str]
    code: int = 0
    msg: str = ""
    retry_after_s: int = 0


@attrs.define(eq=False)
class _Window:
    limit: RateLimit
    length_ms: int
    start_ms: int = 0
    used: int = 0

    @property
    def suffix(self) -> str:
        return f"{self.limit.interval_num}{_UNIT_LETTER.get(self.limit.interval, 'M')}"

    def roll(self, now_ms: int) -> None:
        start = now_ms - now_ms % self.length_ms
        if start != self.start_ms:
            self.start_ms = start
            self.used = 0

    def retry_after_s(self, now_ms: int) -> int:
        left_ms = self.start_ms + self.length_ms - now_ms
        return max(1, -(-left_ms // 1000))


@attrs.define(eq=False)
class RateLimiter:
    """The exchange's counters for one IP and one account."""

    weight_windows: list[_Window] = attrs.field(factory=list)
    order_windows: list[_Window] = attrs.field(factory=list)

    @classmethod
    def from_limits(cls, limits: Iterable[RateLimit]) -> RateLimiter:
        """Windows for the REQUEST_WEIGHT and ORDERS entries of ``limits``."""
        limiter = cls()
        for limit in limits:
            window = _Window(limit=limit, length_ms=round(limit.window_s * 1000))
            if limit.kind == "REQUEST_WEIGHT":
                limiter.weight_windows.append(window)
            elif limit.kind == "ORDERS":
                limiter.order_windows.append(window)
        return limiter

    def _headers(self, *, orders: bool) -> dict[str, str]:
        headers = {f"X-MBX-USED-WEIGHT-{w.suffix}": str(w.used) for w in self.weight_windows}
        if orders:
            for w in self.order_windows:
                headers[f"X-MBX-ORDER-COUNT-{w.suffix}"] = str(w.used)
        return headers

    def admit(self, weight: int, orders: int, now_ms: int, *, order_endpoint: bool) -> RateDecision:
        """Charge a request, or refuse it if a window would overflow.

        Args:
            weight: The request's IP weight.
            orders: Its cost against the ORDERS windows.
            now_ms: The server clock.
            order_endpoint: Send the order-count headers (order placement routes).
        """
        for window in (*self.weight_windows, *self.order_windows):
            window.roll(now_ms)
        for window in self.weight_windows:
            if window.used + weight > window.limit.limit:
                return RateDecision(
                    allowed=False,
                    headers=self._headers(orders=order_endpoint),
                    code=-1003,
                    msg=message_for(-1003, window.limit.limit),
                    retry_after_s=window.retry_after_s(now_ms),
                )
        if orders > 0:
            for window in self.order_windows:
                if window.used + orders > window.limit.limit:
                    unit = (
                        f"{window.limit.interval_num}{_UNIT_WORD.get(window.limit.interval, 'm')}"
                    )
                    return RateDecision(
                        allowed=False,
                        headers=self._headers(orders=order_endpoint),
                        code=-1015,
                        msg=message_for(-1015, window.limit.limit, unit),
                        retry_after_s=window.retry_after_s(now_ms),
                    )
        for window in self.weight_windows:
            window.used += weight
        for window in self.order_windows:
            window.used += orders
        return RateDecision(allowed=True, headers=self._headers(orders=order_endpoint))

    def used_weight(self) -> int:
        """Weight used in the first (per-minute) window."""
        return self.weight_windows[0].used if self.weight_windows else 0
