"""The stream actor's schedule, with exact numbers (faults.md rows 40, 41)."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_fapi.protocol.stream_schedule import (
    ListenKeyAction,
    ListenKeyDue,
    ListenKeyPolicy,
    ReconnectBackoff,
    StalenessWatchdog,
)

HOUR = 3600.0
POLICY = ListenKeyPolicy()


class TestListenKeyTimes:
    """Keep-alive, expiry and rotation times follow from the last refresh and connect."""

    def test_defaults(self) -> None:
        assert POLICY.keepalive_interval_s == 1800.0
        assert POLICY.key_validity_s == 3600.0
        assert POLICY.rotate_after_s == 84600.0  # 23 h 30 min
        assert POLICY.connection_lifetime_s == 86400.0

    def test_from_creation(self) -> None:
        assert POLICY.keepalive_due_at(key_created_at=100.0) == 1900.0
        assert POLICY.key_expires_at(key_created_at=100.0) == 3700.0

    def test_from_last_keepalive(self) -> None:
        assert POLICY.keepalive_due_at(key_created_at=100.0, last_keepalive_at=1900.0) == 3700.0
        assert POLICY.key_expires_at(key_created_at=100.0, last_keepalive_at=1900.0) == 5500.0

    def test_rotation(self) -> None:
        assert POLICY.rotate_due_at(connection_started_at=50.0) == 84650.0

    def test_keepalive_of_a_previous_key_extends_nothing(self) -> None:
        with pytest.raises(ValueError, match="before key_created_at"):
            POLICY.keepalive_due_at(key_created_at=100.0, last_keepalive_at=99.0)

    @pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
    def test_times_must_be_finite(self, bad: float) -> None:
        with pytest.raises(ValueError, match="finite"):
            POLICY.keepalive_due_at(key_created_at=bad)
        with pytest.raises(ValueError, match="finite"):
            POLICY.rotate_due_at(connection_started_at=bad)
        with pytest.raises(ValueError, match="finite"):
            POLICY.next_due(bad, key_created_at=0.0, connection_started_at=0.0)


class TestNextDue:
    """next_due names the action to take and when; the most drastic due action wins."""

    def test_fresh_key_and_connection(self) -> None:
        due = POLICY.next_due(100.0, key_created_at=100.0, connection_started_at=100.0)
        assert due == ListenKeyDue(action=ListenKeyAction.KEEPALIVE, at=1900.0)

    def test_keepalive_due_now(self) -> None:
        due = POLICY.next_due(1900.0, key_created_at=100.0, connection_started_at=100.0)
        assert due == ListenKeyDue(action=ListenKeyAction.KEEPALIVE, at=1900.0)

    def test_overdue_keepalive_keeps_its_time(self) -> None:
        due = POLICY.next_due(2500.0, key_created_at=100.0, connection_started_at=100.0)
        assert due == ListenKeyDue(action=ListenKeyAction.KEEPALIVE, at=1900.0)

    def test_after_a_keepalive(self) -> None:
        due = POLICY.next_due(
            1900.5, key_created_at=100.0, connection_started_at=100.0, last_keepalive_at=1900.0
        )
        assert due == ListenKeyDue(action=ListenKeyAction.KEEPALIVE, at=3700.0)

    def test_lapsed_key_is_renewed(self) -> None:
        """Row 40: past the validity a PUT would get -1125; get a key and reconnect."""
        due = POLICY.next_due(3700.0, key_created_at=100.0, connection_started_at=100.0)
        assert due == ListenKeyDue(action=ListenKeyAction.RENEW, at=3700.0)

    def test_rotation_comes_before_a_later_keepalive(self) -> None:
        due = POLICY.next_due(
            84000.0, key_created_at=0.0, connection_started_at=0.0, last_keepalive_at=84000.0
        )
        assert due == ListenKeyDue(action=ListenKeyAction.ROTATE, at=84600.0)

    def test_rotation_wins_a_tie(self) -> None:
        due = POLICY.next_due(
            83000.0, key_created_at=0.0, connection_started_at=0.0, last_keepalive_at=82800.0
        )
        assert due == ListenKeyDue(action=ListenKeyAction.ROTATE, at=84600.0)

    def test_rotation_due_beats_keepalive_due(self) -> None:
        due = POLICY.next_due(
            85000.0, key_created_at=0.0, connection_started_at=0.0, last_keepalive_at=82800.0
        )
        assert due == ListenKeyDue(action=ListenKeyAction.ROTATE, at=84600.0)

    def test_renew_beats_rotation(self) -> None:
        due = POLICY.next_due(
            90000.0, key_created_at=0.0, connection_started_at=0.0, last_keepalive_at=82800.0
        )
        assert due == ListenKeyDue(action=ListenKeyAction.RENEW, at=86400.0)

    def test_no_rotation_while_disconnected(self) -> None:
        due = POLICY.next_due(
            85000.0, key_created_at=0.0, connection_started_at=None, last_keepalive_at=84000.0
        )
        assert due == ListenKeyDue(action=ListenKeyAction.KEEPALIVE, at=85800.0)

    def test_a_day_on_schedule(self) -> None:
        """An actor that does each action on time keeps the key alive and rotates at 23.5 h."""
        created = started = 0.0
        last_keepalive: float | None = None
        now = 0.0
        log: list[tuple[ListenKeyAction, float]] = []
        while now < 2 * 86400.0:
            due = POLICY.next_due(
                now,
                key_created_at=created,
                connection_started_at=started,
                last_keepalive_at=last_keepalive,
            )
            now = max(now, due.at)
            log.append((due.action, due.at))
            if due.action is ListenKeyAction.KEEPALIVE:
                last_keepalive = now
            elif due.action is ListenKeyAction.ROTATE:
                # Reconnect: POST returns the active key, extended, on a new connection.
                started = last_keepalive = now
            else:
                pytest.fail(f"the key lapsed at {now}")
        keepalives = [at for action, at in log if action is ListenKeyAction.KEEPALIVE]
        rotations = [at for action, at in log if action is ListenKeyAction.ROTATE]
        assert keepalives[:3] == [1800.0, 3600.0, 5400.0]
        assert rotations == [84600.0, 169200.0]
        # Every 30 min slot is a keep-alive, except the two that the rotations' POST covers.
        refreshes = sorted(keepalives + rotations)
        assert refreshes == [1800.0 * n for n in range(1, 97)]


class TestListenKeyPolicyValidation:
    """Nonsense schedules are refused with a message that says why."""

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"keepalive_interval_s": 3600.0}, "at most half of key_validity_s"),
            ({"keepalive_interval_s": 4000.0}, "at most half of key_validity_s"),
            ({"keepalive_interval_s": 1800.5}, "at most half of key_validity_s"),
            ({"key_validity_s": 3000.0}, "at most half of key_validity_s"),
            ({"rotate_after_s": 86400.0}, "less than connection_lifetime_s"),
            ({"rotate_after_s": 90000.0}, "less than connection_lifetime_s"),
            ({"keepalive_interval_s": 0.0}, "greater than 0"),
            ({"keepalive_interval_s": -1.0}, "greater than 0"),
            ({"key_validity_s": math.nan}, "finite"),
            ({"rotate_after_s": math.inf}, "finite"),
        ],
    )
    def test_refused(self, kwargs: dict[str, Any], match: str) -> None:
        with pytest.raises(ValueError, match=match):
            ListenKeyPolicy(**kwargs)

    def test_wrong_type(self) -> None:
        with pytest.raises(TypeError, match="keepalive_interval_s"):
            ListenKeyPolicy(keepalive_interval_s=True)
        with pytest.raises(TypeError, match="key_validity_s"):
            ListenKeyPolicy(key_validity_s="3600")  # type: ignore[arg-type]

    def test_custom_schedule(self) -> None:
        policy = ListenKeyPolicy(
            keepalive_interval_s=600, key_validity_s=3600, rotate_after_s=12 * HOUR
        )
        assert policy.keepalive_due_at(key_created_at=10.0) == 610.0
        assert policy.rotate_due_at(connection_started_at=10.0) == 43210.0


class TestReconnectBackoff:
    """Exponential, capped, seeded jitter; a healthy connection resets the streak."""

    def test_base_delays(self) -> None:
        backoff = ReconnectBackoff()
        assert [backoff.base_delay(n) for n in range(1, 9)] == [
            0.5,
            1.0,
            2.0,
            4.0,
            8.0,
            16.0,
            30.0,
            30.0,
        ]

    def test_huge_attempt_does_not_overflow(self) -> None:
        assert ReconnectBackoff().base_delay(10**6) == 30.0

    def test_seeded_delays(self) -> None:
        backoff = ReconnectBackoff()
        rng = random.Random(1234)
        assert [backoff.delay(n, rng) for n in range(1, 9)] == [
            0.25838661607696534,
            0.7796337004123237,
            1.992508529941413,
            2.178048075101752,
            4.242924010544944,
            11.342179415528406,
            19.926547777680227,
            28.74092659744374,
        ]

    def test_seeded_delays_custom(self) -> None:
        backoff = ReconnectBackoff(wait_initial=1, wait_max=60, wait_exp_base=3, wait_jitter=0.25)
        rng = random.Random(7)
        assert [backoff.delay(n, rng) for n in range(1, 7)] == [
            0.9190418087917094,
            2.8868631195566237,
            7.535397435660329,
            26.511055064994085,
            51.96176993539966,
            54.51466624631122,
        ]

    def test_same_seed_same_delays(self) -> None:
        backoff = ReconnectBackoff()
        first, second = random.Random(99), random.Random(99)
        assert [backoff.delay(n, first) for n in range(1, 20)] == [
            backoff.delay(n, second) for n in range(1, 20)
        ]

    def test_one_draw_per_delay(self) -> None:
        rng, twin = random.Random(5), random.Random(5)
        ReconnectBackoff(wait_jitter=0).delay(3, rng)
        twin.random()
        assert rng.random() == twin.random()

    def test_no_jitter_gives_the_base(self) -> None:
        backoff = ReconnectBackoff(wait_jitter=0)
        rng = random.Random(0)
        assert [backoff.delay(n, rng) for n in (1, 2, 3, 10)] == [0.5, 1.0, 2.0, 30.0]

    def test_constant_backoff(self) -> None:
        backoff = ReconnectBackoff(wait_initial=2, wait_max=2, wait_exp_base=1.0)
        assert {backoff.base_delay(n) for n in range(1, 50)} == {2}

    @given(
        seed=st.integers(0, 2**32),
        attempt=st.integers(1, 10_000),
        jitter=st.floats(0, 0.99),
    )
    def test_bounded(self, seed: int, attempt: int, jitter: float) -> None:
        backoff = ReconnectBackoff(wait_jitter=jitter)
        base = backoff.base_delay(attempt)
        delay = backoff.delay(attempt, random.Random(seed))
        assert base * (1 - jitter) <= delay <= base <= backoff.wait_max
        assert delay > 0

    @pytest.mark.parametrize(
        ("attempt", "connected_for_s", "expected"),
        [
            (0, None, 1),
            (1, None, 2),
            (5, None, 6),
            (3, 5.0, 4),
            (3, 59.999, 4),
            (3, 60.0, 1),
            (9, 86400.0, 1),
            (0, 0.0, 1),
        ],
        ids=[
            "first",
            "connect-failed",
            "streak",
            "short-lived",
            "just-short",
            "healthy",
            "full-day",
            "instant-drop",
        ],
    )
    def test_next_attempt(self, attempt: int, connected_for_s: float | None, expected: int) -> None:
        assert ReconnectBackoff().next_attempt(attempt, connected_for_s=connected_for_s) == expected

    def test_a_flapping_then_healthy_stream(self) -> None:
        backoff = ReconnectBackoff(wait_jitter=0)
        attempt, delays = 0, []
        for lifetime in (None, None, 2.0, None, 600.0, None):
            attempt = backoff.next_attempt(attempt, connected_for_s=lifetime)
            delays.append(backoff.delay(attempt, random.Random(0)))
        assert delays == [0.5, 1.0, 2.0, 4.0, 0.5, 1.0]

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"wait_initial": 0}, "wait_initial"),
            ({"wait_initial": 10, "wait_max": 5}, "wait_max"),
            ({"wait_max": math.inf}, "wait_max"),
            ({"wait_exp_base": 0.5}, "wait_exp_base"),
            ({"wait_jitter": 1.0}, "wait_jitter"),
            ({"wait_jitter": -0.1}, "wait_jitter"),
            ({"wait_jitter": math.nan}, "wait_jitter"),
            ({"healthy_after_s": 0}, "healthy_after_s"),
        ],
    )
    def test_refused(self, kwargs: dict[str, Any], match: str) -> None:
        with pytest.raises(ValueError, match=match):
            ReconnectBackoff(**kwargs)

    @pytest.mark.parametrize("attempt", [0, -1, True])
    def test_delay_attempt_starts_at_one(self, attempt: int) -> None:
        with pytest.raises(ValueError, match="attempt"):
            ReconnectBackoff().delay(attempt, random.Random(0))

    @pytest.mark.parametrize(("attempt", "connected_for_s"), [(-1, None), (1, -0.5), (1, math.nan)])
    def test_next_attempt_refuses(self, attempt: int, connected_for_s: float | None) -> None:
        with pytest.raises(ValueError):
            ReconnectBackoff().next_attempt(attempt, connected_for_s=connected_for_s)


class TestStalenessWatchdog:
    """A quiet stream is pinged; an unanswered ping declares it dead."""

    def test_defaults(self) -> None:
        watchdog = StalenessWatchdog()
        assert watchdog.ping_due_at(100.0) == 130.0
        assert watchdog.pong_deadline(130.0) == 140.0
        assert watchdog.detection_bound_s == 40.0

    def test_custom(self) -> None:
        watchdog = StalenessWatchdog(ping_interval_s=180, pong_timeout_s=20)
        assert watchdog.ping_due_at(0.0) == 180.0
        assert watchdog.pong_deadline(180.0) == 200.0
        assert watchdog.detection_bound_s == 200.0

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"ping_interval_s": 0},
            {"ping_interval_s": -5},
            {"pong_timeout_s": 0},
            {"pong_timeout_s": math.nan},
            {"ping_interval_s": math.inf},
        ],
    )
    def test_refused(self, kwargs: dict[str, Any]) -> None:
        with pytest.raises(ValueError, match="finite number greater than 0"):
            StalenessWatchdog(**kwargs)

    def test_times_must_be_finite(self) -> None:
        with pytest.raises(ValueError, match="last_frame_at"):
            StalenessWatchdog().ping_due_at(math.nan)
        with pytest.raises(ValueError, match="ping_sent_at"):
            StalenessWatchdog().pong_deadline(math.inf)
