"""The limiter's rules, driven directly at exact virtual instants."""

from __future__ import annotations

import math
from collections import defaultdict

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_fapi.protocol.adaptive import ADAPTIVE_PRESETS, AdaptivePolicy
from trio_fapi.protocol.admission import Admission
from trio_fapi.protocol.errors import DeadlineExceeded, EngineError, IpBanned, Overloaded
from trio_fapi.protocol.filters import RateLimit
from trio_fapi.protocol.messages import (
    AcquireWeight,
    Lane,
    ThrottleKind,
    ThrottleObserved,
    UsageObserved,
    WeightGranted,
    WeightRefused,
)

WEIGHT_1M = RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=100)
ORDERS_10S = RateLimit(kind="ORDERS", interval="SECOND", interval_num=10, limit=10)
ORDERS_1M = RateLimit(kind="ORDERS", interval="MINUTE", interval_num=1, limit=40)
LIMITS = (WEIGHT_1M, ORDERS_10S, ORDERS_1M)
EPOCH_S = 1_700_000_040.0  # a whole minute on the server clock


class _Sink:
    def send(self, value: WeightGranted | WeightRefused, /) -> None:
        raise AssertionError("the rules never answer by themselves")


def _req(
    n: int,
    *,
    weight: int = 0,
    orders: int = 0,
    lane: Lane = Lane.ORDER,
    strategy: str = "s",
    deadline: float = math.inf,
    probe: bool = False,
) -> AcquireWeight:
    return AcquireWeight(
        request_id=n,
        weight=weight,
        orders=orders,
        lane=lane,
        strategy=strategy,
        deadline=deadline,
        reply_to=_Sink(),
        probe=probe,
    )


@attrs.define
class Run:
    """Drives an :class:`Admission` the way the actor does, on a virtual clock."""

    rules: Admission
    t: float = 0.0
    granted: dict[int, float] = attrs.field(factory=dict)
    refused: dict[int, tuple[float, EngineError]] = attrs.field(factory=dict)
    wake: float | None = None
    epoch_s: float = EPOCH_S

    def queue(self, msg: AcquireWeight) -> None:
        error = self.rules.submit(msg, self.t)
        if error is not None:
            self.refused[msg.request_id] = (self.t, error)

    def submit(self, msg: AcquireWeight) -> None:
        self.queue(msg)
        self.step()

    def step(self) -> None:
        out = self.rules.step(self.t, self.epoch_s + self.t)
        for msg, _ in out.granted:
            assert msg.request_id not in self.granted
            self.granted[msg.request_id] = self.t
        for msg, error in out.refused:
            assert msg.request_id not in self.refused
            self.refused[msg.request_id] = (self.t, error)
        self.wake = out.wake_in_s

    def run_until(self, until: float) -> None:
        for _ in range(100_000):
            if self.wake is None or self.t + self.wake > until:
                self.t = until
                self.step()
                return
            self.t += self.wake
            self.step()
        raise AssertionError("the rules never settled")


def _rules(**kwargs: object) -> Admission:
    options: dict[str, object] = {"reserve_fraction": 0.0, "release_s": 0.0}
    options.update(kwargs)
    return Admission(LIMITS, **options)  # type: ignore[arg-type]


class TestWindows:
    def test_orders_spread_over_windows_at_exact_instants(self) -> None:
        run = Run(_rules())
        for n in range(25):
            run.submit(_req(n, orders=1))
        run.run_until(30)
        times = sorted(run.granted.values())
        assert times == [0.0] * 10 + [10.0] * 10 + [20.0] * 5

    def test_minute_window_caps_the_ten_second_windows(self) -> None:
        run = Run(_rules())
        for n in range(50):
            run.submit(_req(n, orders=1))
        run.run_until(120)
        times = sorted(run.granted.values())
        assert times == [0.0] * 10 + [10.0] * 10 + [20.0] * 10 + [30.0] * 10 + [60.0] * 10

    def test_reserve_is_released_in_the_last_second(self) -> None:
        run = Run(_rules(reserve_fraction=0.2, release_s=1.0))
        for n in range(12):
            run.submit(_req(n, orders=1))
        run.run_until(15)
        times = sorted(run.granted.values())
        assert times == [0.0] * 8 + [9.0] * 2 + [10.0] * 2

    def test_priority_overtakes_a_full_order_queue_and_uses_the_reserve(self) -> None:
        run = Run(_rules(reserve_fraction=0.2, release_s=1.0))
        for n in range(100):
            run.submit(_req(n, orders=1))
        run.submit(_req(1000, orders=1, lane=Lane.PRIORITY))  # a reduce-only order
        run.submit(_req(1001, weight=1, lane=Lane.PRIORITY))  # a cancel
        assert run.granted[1000] == 0.0
        assert run.granted[1001] == 0.0

    def test_a_query_passes_a_full_orders_window(self) -> None:
        run = Run(_rules())
        for n in range(11):
            run.submit(_req(n, orders=1))
        run.submit(_req(99, weight=5, lane=Lane.QUERY))
        assert run.granted[99] == 0.0
        assert 10 not in run.granted

    def test_server_usage_raises_the_estimate(self) -> None:
        run = Run(_rules())
        run.rules.observe_usage(
            UsageObserved(used_weight_1m=98, order_count_10s=None, order_count_1m=None),
            EPOCH_S,
        )
        run.submit(_req(1, weight=5, lane=Lane.QUERY))
        run.run_until(70)
        assert run.granted[1] == 60.0

    def test_probe_waits_its_turn_but_charges_nothing(self) -> None:
        run = Run(_rules())
        run.submit(_req(1, orders=1, probe=True))
        for n in range(2, 12):
            run.submit(_req(n, orders=1))
        assert all(run.granted[n] == 0.0 for n in range(1, 12))


class TestFairness:
    def test_a_flood_cannot_delay_another_strategy_beyond_its_share(self) -> None:
        run = Run(_rules())
        for n in range(200):
            run.submit(_req(n, orders=1, strategy="flood"))
        for n in range(200, 210):
            run.submit(_req(n, orders=1, strategy="calm"))
        run.run_until(30)
        calm = sorted(run.granted[n] for n in range(200, 210))
        # The first window is already the flood's; from then on calm gets every
        # other grant, so all ten are through in the next two windows.
        assert calm == [10.0] * 5 + [20.0] * 5

    def test_shares_weight_the_service(self) -> None:
        run = Run(_rules(shares={"big": 3.0}))
        for n in range(400):
            run.queue(_req(n, orders=1, strategy="big" if n % 2 else "small"))
        run.step()
        run.run_until(59)  # 40 grants: the minute window's limit
        by: dict[str, int] = defaultdict(int)
        for n in run.granted:
            by["big" if n % 2 else "small"] += 1
        assert sum(by.values()) == 40
        assert abs(by["big"] - 3 * by["small"]) <= 2


class TestRefusals:
    def test_deadline_refusal_at_the_deadline_exactly(self) -> None:
        run = Run(_rules())
        for n in range(10):
            run.submit(_req(n, orders=1))
        run.submit(_req(10, orders=1, deadline=3.25))
        run.run_until(20)
        at, error = run.refused[10]
        assert at == 3.25
        assert isinstance(error, DeadlineExceeded)

    def test_queue_bounds_refuse_before_queueing(self) -> None:
        run = Run(_rules(max_waiting=20, max_waiting_per_strategy=5))
        for n in range(20):
            run.submit(_req(n, orders=1, strategy="a"))
        overloaded = [n for n, (_, e) in run.refused.items() if isinstance(e, Overloaded)]
        assert len(overloaded) == 5  # 10 granted, 5 queued, 5 over the strategy's bound
        run.submit(_req(100, orders=1, strategy="b"))
        assert 100 not in run.refused


class TestThrottles:
    def test_retry_after_is_honoured_and_never_shortened(self) -> None:
        run = Run(_rules())
        server_ms = int(EPOCH_S * 1000) + 5_000
        run.rules.observe_throttle(
            ThrottleObserved(kind=ThrottleKind.IP_WEIGHT, http_status=429, retry_after_s=70.0),
            0.0,
            server_ms,
        )
        run.rules.observe_throttle(
            ThrottleObserved(kind=ThrottleKind.IP_WEIGHT, http_status=429, retry_after_s=1.0),
            0.0,
            server_ms,
        )
        run.submit(_req(1, weight=1, lane=Lane.PRIORITY))
        run.run_until(100)
        assert run.granted[1] == 70.0

    def test_a_429_without_retry_after_waits_for_the_window(self) -> None:
        run = Run(_rules())
        run.t = 12.5
        run.rules.observe_throttle(
            ThrottleObserved(kind=ThrottleKind.IP_WEIGHT, http_status=429),
            run.t,
            int((EPOCH_S + run.t) * 1000),
        )
        run.submit(_req(1, weight=1, lane=Lane.QUERY))
        run.run_until(100)
        assert run.granted[1] == 60.0

    def test_order_rate_pauses_only_orders_for_the_named_window(self) -> None:
        run = Run(_rules())
        run.t = 3.0
        run.rules.observe_throttle(
            ThrottleObserved(kind=ThrottleKind.ORDER_RATE, http_status=429, window_s=10.0),
            run.t,
            int((EPOCH_S + run.t) * 1000),
        )
        run.submit(_req(1, orders=1))
        run.submit(_req(2, weight=1, lane=Lane.QUERY))
        run.run_until(60)
        assert run.granted == {2: 3.0, 1: 10.0}

    def test_server_busy_exempts_the_priority_lane(self) -> None:
        run = Run(_rules())
        run.rules.observe_throttle(
            ThrottleObserved(kind=ThrottleKind.SERVER_BUSY, http_status=503, retry_after_s=2.0),
            0.0,
            int(EPOCH_S * 1000) + 1_000,
        )
        run.submit(_req(1, orders=1))
        run.submit(_req(2, orders=1, lane=Lane.PRIORITY))
        run.run_until(60)
        assert run.granted == {2: 0.0, 1: 9.0}

    def test_ban_until_named_in_the_message(self) -> None:
        run = Run(_rules())
        server_ms = int(EPOCH_S * 1000)
        run.rules.observe_throttle(
            ThrottleObserved(
                kind=ThrottleKind.BANNED, http_status=418, ban_until_ms=server_ms + 300_000
            ),
            0.0,
            server_ms,
        )
        run.submit(_req(1, weight=1, lane=Lane.PRIORITY, deadline=100.0))
        run.submit(_req(2, weight=1, lane=Lane.QUERY, deadline=1000.0))
        assert isinstance(run.refused[1][1], IpBanned)
        assert run.refused[1][0] == 0.0
        run.run_until(400)
        assert run.granted[2] == 300.0


class TestAdaptive:
    def test_errors_lower_the_limits_which_then_recover(self) -> None:
        policy = AdaptivePolicy(ceiling=1.0, backoff=0.5, floor=0.1, recovery_per_s=0.1)
        run = Run(_rules(adaptive=policy))
        run.rules.observe_throttle(
            ThrottleObserved(kind=ThrottleKind.SERVER_ERROR, http_status=502),
            0.0,
            int(EPOCH_S * 1000),
        )
        for n in range(10):
            run.submit(_req(n, orders=1))
        # Factor 0.5: 5 of 10 now; +0.1 per second gives room for one more each second.
        assert sorted(run.granted.values()) == [0.0] * 5
        run.run_until(9.5)
        assert sorted(run.granted.values()) == [0.0] * 5 + [1.0, 2.0, 3.0, 4.0, 5.0]
        stats = run.rules.statistics(run.t, EPOCH_S + run.t)
        assert stats.adaptive_factor == 1.0
        assert stats.throttles_by_kind == {"server_error": 1}

    def test_presets(self) -> None:
        assert ADAPTIVE_PRESETS["off"].backoff == 1.0
        assert ADAPTIVE_PRESETS["conservative"].ceiling < 1.0
        assert ADAPTIVE_PRESETS["aggressive"].ceiling == 1.0

    def test_reset_forgets_estimates_and_penalties_but_not_pauses(self) -> None:
        run = Run(_rules(adaptive=ADAPTIVE_PRESETS["aggressive"]))
        for n in range(10):
            run.submit(_req(n, orders=1))
        run.rules.observe_throttle(
            ThrottleObserved(kind=ThrottleKind.IP_WEIGHT, http_status=429, retry_after_s=5.0),
            0.0,
            int(EPOCH_S * 1000),
        )
        run.rules.reset()
        stats = run.rules.statistics(0.0, EPOCH_S)
        assert {w.name: w.used for w in stats.windows}["orders_10s"] == 0
        assert stats.adaptive_factor == 1.0
        assert stats.paused_for_s == 60.0


# -- property: whatever the demand, no window is ever exceeded -------------------------

_requests = st.lists(
    st.tuples(
        st.floats(0, 90, allow_nan=False).map(lambda t: round(t, 3)),  # arrival
        st.sampled_from(list(Lane)),
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(0, 20),  # weight
        st.integers(0, 5),  # orders
        st.one_of(st.just(math.inf), st.floats(0.1, 40).map(lambda d: round(d, 3))),
    ),
    max_size=150,
)


@settings(max_examples=150, deadline=None)
@given(
    requests=_requests,
    reserve=st.sampled_from([0.0, 0.1, 0.3]),
    edge=st.sampled_from([0.0, 0.25]),
    epoch_shift=st.floats(0, 60).map(lambda s: round(s, 3)),
)
def test_no_window_is_ever_exceeded_and_every_request_is_answered_once(
    requests: list[tuple[float, Lane, str, int, int, float]],
    reserve: float,
    edge: float,
    epoch_shift: float,
) -> None:
    limits = (
        RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=120),
        RateLimit(kind="ORDERS", interval="SECOND", interval_num=10, limit=12),
        RateLimit(kind="ORDERS", interval="MINUTE", interval_num=1, limit=30),
    )
    rules = Admission(limits, reserve_fraction=reserve, edge_s=edge, release_s=1.0)
    run = Run(rules, t=0.0, epoch_s=EPOCH_S + epoch_shift)
    order = sorted(enumerate(requests), key=lambda item: item[1][0])
    msgs = {}
    for n, (arrival, lane, strategy, weight, orders, patience) in order:
        run.run_until(arrival)
        msg = _req(
            n,
            weight=weight,
            orders=orders,
            lane=lane,
            strategy=strategy,
            deadline=arrival + patience,
        )
        msgs[n] = msg
        run.submit(msg)
    run.run_until(1000)
    # Every request answered exactly once.
    assert set(run.granted) | set(run.refused) == set(msgs)
    assert not set(run.granted) & set(run.refused)
    # Within every window (server time, with the edge allowance), limits hold.
    for limit in limits:
        length = limit.window_s
        used: dict[int, int] = defaultdict(int)
        for n, at in run.granted.items():
            cost = msgs[n].weight if limit.kind == "REQUEST_WEIGHT" else msgs[n].orders
            now_s = run.epoch_s + at
            index = int(now_s // length)
            used[index] += cost
            if edge and (index + 1) * length - now_s < edge:
                used[index + 1] += cost
        assert max(used.values(), default=0) <= limit.limit
    # Nothing is granted after its deadline, and refusals for time are at the deadline.
    for n, at in run.granted.items():
        assert at <= msgs[n].deadline
    for n, (at, error) in run.refused.items():
        if isinstance(error, DeadlineExceeded):
            assert at == msgs[n].deadline


def test_wake_is_never_negative_or_busy() -> None:
    run = Run(_rules())
    for n in range(30):
        run.submit(_req(n, orders=1, deadline=float(n)))
    steps = 0
    while run.wake is not None and steps < 100:
        assert run.wake >= 0
        run.t += run.wake
        run.step()
        steps += 1
    assert steps < 100


@pytest.mark.parametrize("share", [0.0, -1.0])
def test_shares_must_be_positive(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        _rules().set_share("a", share)
