"""Rate limits counted the way Binance counts them: fixed windows on the clock.

REQUEST_WEIGHT windows are per IP and charge every request its endpoint
weight; ORDERS windows are per account and charge order placements. A window
of ``n`` units starts at a multiple of its length (a minute window resets at
every whole minute of the server clock), so ``Retry-After`` is the time to the
window's end. A request that would break a limit is refused with 429 and is
not counted.

Ignoring a 429 is what gets an IP banned (binance-fapi.md section 3.3): a
request refused again while an earlier 429's ``Retry-After`` is still running
counts as a violation, and after :attr:`BanPolicy.violations` of them the IP is
banned (418 with ``-1003 "IP banned until <epoch-ms>"``) for
:attr:`BanPolicy.first_ban_s`, each further ban twice as long, up to three days.
While banned every request is answered 418 and nothing is applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import final

import attrs

from trio_fapi.protocol.filters import RateLimit

from .errors import message_for

__all__ = ["BanPolicy", "RateDecision", "RateLimiter"]

_UNIT_LETTER = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}
_UNIT_WORD = {"SECOND": "s", "MINUTE": "m", "HOUR": "h", "DAY": "d"}


_MAX_BAN_S = 3 * 24 * 3600


@final
@attrs.frozen(kw_only=True)
class BanPolicy:
    """When ignored 429s become a ban, and how long bans last.

    Attributes:
        violations: Requests refused during a running ``Retry-After`` before
            the IP is banned.
        first_ban_s: The first ban's length; each further ban doubles it, up to
            three days (Binance: "from 2 minutes to 3 days").
    """

    violations: int = attrs.field(default=3, validator=attrs.validators.gt(0))
    first_ban_s: int = attrs.field(default=120, validator=attrs.validators.gt(0))


@final
@attrs.frozen(kw_only=True)
class RateDecision:
    """Whether a request may proceed, and the usage headers to send either way."""

    allowed: bool
    headers: dict[str, str]
    status: int = 200
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
    ban_policy: BanPolicy = attrs.field(factory=BanPolicy)
    #: 429 answers sent, 418 answers sent, bans started.
    http_429: int = 0
    http_418: int = 0
    bans: int = 0
    _penalty_until_ms: int = 0
    _violations: int = 0
    _banned_until_ms: int = 0

    @classmethod
    def from_limits(
        cls, limits: Iterable[RateLimit], ban_policy: BanPolicy | None = None
    ) -> RateLimiter:
        """Windows for the REQUEST_WEIGHT and ORDERS entries of ``limits``."""
        limiter = cls(ban_policy=ban_policy or BanPolicy())
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

    def banned_until_ms(self) -> int:
        """The server time the current ban ends (0 or past: not banned)."""
        return self._banned_until_ms

    def admit(self, weight: int, orders: int, now_ms: int, *, order_endpoint: bool) -> RateDecision:
        """Charge a request, or refuse it if a window would overflow or the IP is banned.

        Args:
            weight: The request's IP weight.
            orders: Its cost against the ORDERS windows.
            now_ms: The server clock.
            order_endpoint: Send the order-count headers (order placement routes).
        """
        for window in (*self.weight_windows, *self.order_windows):
            window.roll(now_ms)
        headers = self._headers(orders=order_endpoint)
        if now_ms < self._banned_until_ms:
            return self._ban_answer(now_ms, headers)
        refusal = self._refusal(weight, orders, now_ms)
        if refusal is None:
            for window in self.weight_windows:
                window.used += weight
            for window in self.order_windows:
                window.used += orders
            return RateDecision(allowed=True, headers=self._headers(orders=order_endpoint))
        code, msg, retry_after_s = refusal
        if now_ms < self._penalty_until_ms:
            self._violations += 1
            if self._violations >= self.ban_policy.violations:
                self._start_ban(now_ms)
                return self._ban_answer(now_ms, headers)
        self._penalty_until_ms = max(self._penalty_until_ms, now_ms + retry_after_s * 1000)
        self.http_429 += 1
        return RateDecision(
            allowed=False,
            headers=headers,
            status=429,
            code=code,
            msg=msg,
            retry_after_s=retry_after_s,
        )

    def _refusal(self, weight: int, orders: int, now_ms: int) -> tuple[int, str, int] | None:
        for window in self.weight_windows:
            if window.used + weight > window.limit.limit:
                return (
                    -1003,
                    message_for(-1003, window.limit.limit),
                    window.retry_after_s(now_ms),
                )
        if orders > 0:
            for window in self.order_windows:
                if window.used + orders > window.limit.limit:
                    unit = (
                        f"{window.limit.interval_num}{_UNIT_WORD.get(window.limit.interval, 'm')}"
                    )
                    return (
                        -1015,
                        message_for(-1015, window.limit.limit, unit),
                        window.retry_after_s(now_ms),
                    )
        return None

    def _start_ban(self, now_ms: int) -> None:
        length_s = min(_MAX_BAN_S, self.ban_policy.first_ban_s * 2**self.bans)
        self.bans += 1
        self._banned_until_ms = now_ms + length_s * 1000
        self._violations = 0
        self._penalty_until_ms = 0

    def _ban_answer(self, now_ms: int, headers: dict[str, str]) -> RateDecision:
        self.http_418 += 1
        until = self._banned_until_ms
        return RateDecision(
            allowed=False,
            headers=headers,
            status=418,
            code=-1003,
            msg=(
                f"Way too many requests; IP banned until {until}. "
                "Please use the websocket for live updates to avoid bans."
            ),
            retry_after_s=max(1, -(-(until - now_ms) // 1000)),
        )
