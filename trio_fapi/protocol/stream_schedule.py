"""When the user-data stream actor acts: keep-alives, rotation, reconnects, pings.

Pure policy, no clock of its own: every function takes times in seconds on the
caller's monotonic clock (``trio.current_time()``, virtual under ``MockClock``),
so the schedule is tested with exact numbers and the actor only sleeps until
the instant this module names (faults.md rows 40, 41).

Binance's rules behind the defaults (binance-fapi.md 8.1): a listen key is valid
60 minutes after its creation or last keep-alive; one connection lives at most
24 hours; the server pings every 3 minutes. A socket can also go half-open and
stay silent without closing, which only a ping of our own detects.
"""

from __future__ import annotations

import enum
import math
import random
from typing import final

import attrs

__all__ = [
    "ListenKeyAction",
    "ListenKeyDue",
    "ListenKeyPolicy",
    "ReconnectBackoff",
    "StalenessWatchdog",
]


def _finite_positive(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{attribute.name} must be a number of seconds, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{attribute.name} must be a finite number greater than 0, got {value!r}")


def _check_time(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite time in seconds, got {value!r}")


class ListenKeyAction(enum.Enum):
    """What the stream actor has to do next about its key and connection."""

    #: ``PUT /fapi/v1/listenKey``: extend the key by its validity.
    KEEPALIVE = "keepalive"
    #: Open a new connection before the server cuts this one at 24 h (the key
    #: can stay: ``POST /fapi/v1/listenKey`` returns the active key, extended).
    ROTATE = "rotate"
    #: The key may have lapsed: get a key with ``POST``, reconnect, reconcile.
    RENEW = "renew"


@final
@attrs.frozen(kw_only=True)
class ListenKeyDue:
    """The next thing to do, and when (seconds on the caller's monotonic clock)."""

    action: ListenKeyAction
    at: float


@final
@attrs.frozen(kw_only=True)
class ListenKeyPolicy:
    """Keep-alive and rotation schedule for one listen key and its connection.

    Record each time as the moment the request was *sent* (or the connection
    opened): Binance extends the key on receipt, which is later, so expiries
    computed here are never later than the server's.

    Attributes:
        keepalive_interval_s: Between keep-alives. At most half of
            ``key_validity_s``, so a keep-alive that fails still leaves time to
            retry before the key lapses (Hummingbot also uses 30 minutes).
        key_validity_s: How long a key lives after creation or a keep-alive.
        rotate_after_s: Connection age at which the actor reconnects on its own
            terms, ahead of the server's cut.
        connection_lifetime_s: The server's limit on a connection's age.

    Raises:
        ValueError: A value is not finite and positive, the keep-alive is not
            well inside the validity, or rotation is not before the lifetime.
    """

    keepalive_interval_s: float = attrs.field(default=30 * 60.0, validator=_finite_positive)
    key_validity_s: float = attrs.field(default=60 * 60.0, validator=_finite_positive)
    rotate_after_s: float = attrs.field(default=23.5 * 3600, validator=_finite_positive)
    connection_lifetime_s: float = attrs.field(default=24 * 3600.0, validator=_finite_positive)

    def __attrs_post_init__(self) -> None:
        if self.keepalive_interval_s > self.key_validity_s / 2:
            raise ValueError(
                f"keepalive_interval_s ({self.keepalive_interval_s}) must be at most half of "
                f"key_validity_s ({self.key_validity_s}), so a failed keep-alive can be "
                "retried before the key lapses"
            )
        if self.rotate_after_s >= self.connection_lifetime_s:
            raise ValueError(
                f"rotate_after_s ({self.rotate_after_s}) must be less than "
                f"connection_lifetime_s ({self.connection_lifetime_s}), or the server "
                "cuts the connection first"
            )

    def key_refreshed_at(self, *, key_created_at: float, last_keepalive_at: float | None) -> float:
        """When the key's validity last restarted: its creation or its last keep-alive.

        Raises:
            ValueError: A time is not finite, or the keep-alive predates the key
                (a keep-alive of a previous key extends nothing).
        """
        _check_time("key_created_at", key_created_at)
        if last_keepalive_at is None:
            return key_created_at
        _check_time("last_keepalive_at", last_keepalive_at)
        if last_keepalive_at < key_created_at:
            raise ValueError("last_keepalive_at is before key_created_at")
        return last_keepalive_at

    def keepalive_due_at(
        self, *, key_created_at: float, last_keepalive_at: float | None = None
    ) -> float:
        """When the next keep-alive is due."""
        refreshed = self.key_refreshed_at(
            key_created_at=key_created_at, last_keepalive_at=last_keepalive_at
        )
        return refreshed + self.keepalive_interval_s

    def key_expires_at(
        self, *, key_created_at: float, last_keepalive_at: float | None = None
    ) -> float:
        """When the key lapses unless kept alive before then."""
        refreshed = self.key_refreshed_at(
            key_created_at=key_created_at, last_keepalive_at=last_keepalive_at
        )
        return refreshed + self.key_validity_s

    def rotate_due_at(self, *, connection_started_at: float) -> float:
        """When the connection opened at ``connection_started_at`` should be replaced."""
        _check_time("connection_started_at", connection_started_at)
        return connection_started_at + self.rotate_after_s

    def next_due(
        self,
        now: float,
        *,
        key_created_at: float,
        connection_started_at: float | None,
        last_keepalive_at: float | None = None,
    ) -> ListenKeyDue:
        """What to do next, and when.

        If something is already due (``at <= now``), the most drastic due action
        wins, because it covers the others: RENEW (the key lapsed, so a
        keep-alive would get -1125), then ROTATE (the reconnect's ``POST``
        extends the key), then KEEPALIVE. Otherwise the earliest future action
        is returned, ROTATE on a tie; the actor sleeps until ``at`` and asks
        again with updated times.

        Args:
            now: The current time.
            key_created_at: When the key was obtained.
            connection_started_at: When the current connection opened; ``None``
                while disconnected (nothing to rotate).
            last_keepalive_at: When the last keep-alive of this key was sent.

        Raises:
            ValueError: A time is not finite, or the keep-alive predates the key.
        """
        _check_time("now", now)
        refreshed = self.key_refreshed_at(
            key_created_at=key_created_at, last_keepalive_at=last_keepalive_at
        )
        keepalive = refreshed + self.keepalive_interval_s
        expires = refreshed + self.key_validity_s
        rotate = (
            math.inf
            if connection_started_at is None
            else self.rotate_due_at(connection_started_at=connection_started_at)
        )
        if now >= expires:
            return ListenKeyDue(action=ListenKeyAction.RENEW, at=expires)
        if rotate <= now or rotate <= keepalive:
            return ListenKeyDue(action=ListenKeyAction.ROTATE, at=rotate)
        return ListenKeyDue(action=ListenKeyAction.KEEPALIVE, at=keepalive)


@final
@attrs.frozen(kw_only=True)
class ReconnectBackoff:
    """Exponential back-off with seeded jitter between stream reconnects.

    Parameter names follow stamina, like
    :class:`~trio_fapi.actors.retry.RetryPolicy`. The jitter is subtractive:
    the delay is drawn from ``(base * (1 - wait_jitter), base]``, so it never
    exceeds ``wait_max``, and clients that all lost the same server still spread
    out when they have reached the cap (additive jitter clipped at the cap would
    bunch them all at exactly ``wait_max``).

    Attributes:
        wait_initial: Base delay before the first reconnect of a streak.
        wait_max: Upper bound of any delay.
        wait_exp_base: Growth factor per consecutive failure (>= 1).
        wait_jitter: Fraction of the base delay removed at random, in [0, 1).
        healthy_after_s: A connection that lived this long ends the failure
            streak: the next reconnect starts again from ``wait_initial``.

    Raises:
        ValueError: A value is out of range, or ``wait_max < wait_initial``.
    """

    wait_initial: float = attrs.field(default=0.5, validator=_finite_positive)
    wait_max: float = attrs.field(default=30.0, validator=_finite_positive)
    wait_exp_base: float = attrs.field(default=2.0, validator=_finite_positive)
    wait_jitter: float = 0.5
    healthy_after_s: float = attrs.field(default=60.0, validator=_finite_positive)

    def __attrs_post_init__(self) -> None:
        if self.wait_max < self.wait_initial:
            raise ValueError(
                f"wait_max ({self.wait_max}) must not be less than wait_initial "
                f"({self.wait_initial})"
            )
        if self.wait_exp_base < 1:
            raise ValueError(f"wait_exp_base ({self.wait_exp_base}) must be at least 1")
        jitter = self.wait_jitter
        if isinstance(jitter, bool) or not isinstance(jitter, int | float) or not 0 <= jitter < 1:
            raise ValueError(f"wait_jitter ({jitter!r}) must be in [0, 1)")

    def base_delay(self, attempt: int) -> float:
        """The delay before reconnect number ``attempt`` of a streak, before jitter.

        Raises:
            ValueError: ``attempt`` is less than 1.
        """
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
            raise ValueError(f"attempt must be an int >= 1, got {attempt!r}")
        if self.wait_exp_base == 1 or self.wait_max == self.wait_initial:
            return self.wait_initial
        # Compare exponents, not powers: 2.0 ** 5000 overflows a float.
        cap_exponent = math.log(self.wait_max / self.wait_initial, self.wait_exp_base)
        if attempt - 1 >= cap_exponent:
            return self.wait_max
        return min(self.wait_max, self.wait_initial * self.wait_exp_base ** (attempt - 1))

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before reconnect number ``attempt`` (>= 1) of a streak.

        Draws exactly one number from ``rng``, so a seeded ``random.Random``
        gives the same delays on every run.

        Raises:
            ValueError: ``attempt`` is less than 1.
        """
        base = self.base_delay(attempt)
        return base * (1 - self.wait_jitter * rng.random())

    def next_attempt(self, attempt: int, *, connected_for_s: float | None) -> int:
        """The attempt number for the reconnect after a connection ended.

        Args:
            attempt: The attempt number that opened the connection that just
                ended (0 before the first connection).
            connected_for_s: How long it was up; ``None`` if it never opened.

        Returns:
            1 when the connection had been healthy for ``healthy_after_s`` (a new
            streak), else ``attempt + 1``.

        Raises:
            ValueError: ``attempt`` is negative or ``connected_for_s`` is not a
                finite non-negative number.
        """
        if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
            raise ValueError(f"attempt must be an int >= 0, got {attempt!r}")
        if connected_for_s is not None:
            _check_time("connected_for_s", connected_for_s)
            if connected_for_s < 0:
                raise ValueError(f"connected_for_s must not be negative, got {connected_for_s!r}")
            if connected_for_s >= self.healthy_after_s:
                return 1
        return attempt + 1


@final
@attrs.frozen(kw_only=True)
class StalenessWatchdog:
    """When to probe a quiet stream, and when to give it up for dead.

    A user stream may be silent for hours when nothing trades, so silence alone
    proves nothing; a ping does. After ``ping_interval_s`` without a frame the
    actor pings; no pong within ``pong_timeout_s`` means the socket is half-open
    and the actor reconnects (faults.md row 41).

    Attributes:
        ping_interval_s: Silence before a ping.
        pong_timeout_s: How long to wait for the pong.

    Raises:
        ValueError: A value is not finite and positive.
    """

    ping_interval_s: float = attrs.field(default=30.0, validator=_finite_positive)
    pong_timeout_s: float = attrs.field(default=10.0, validator=_finite_positive)

    @property
    def detection_bound_s(self) -> float:
        """The longest a dead socket can go unnoticed: a full silence plus the pong wait."""
        return self.ping_interval_s + self.pong_timeout_s

    def ping_due_at(self, last_frame_at: float) -> float:
        """When to ping, given the arrival time of the last frame (or pong, or connect).

        Raises:
            ValueError: The time is not finite.
        """
        _check_time("last_frame_at", last_frame_at)
        return last_frame_at + self.ping_interval_s

    def pong_deadline(self, ping_sent_at: float) -> float:
        """When a ping sent at ``ping_sent_at`` has gone unanswered for too long.

        Raises:
            ValueError: The time is not finite.
        """
        _check_time("ping_sent_at", ping_sent_at)
        return ping_sent_at + self.pong_timeout_s
