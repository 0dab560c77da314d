"""``trio-fapi bench limiter`` measures what it claims, and meets its targets."""

from __future__ import annotations

import json

import trio
import trio.testing
from click.testing import CliRunner

from trio_fapi.bench.limiter import allowed_orders, jain_index, limiter_bench
from trio_fapi.cli import main
from trio_fapi.protocol.filters import DEFAULT_RATE_LIMITS, RateLimit

MINUTE_MS = 60_000
T0 = 28_000_000 * MINUTE_MS  # a whole minute


def test_allowed_orders_counts_nested_fixed_windows() -> None:
    # One aligned minute: the minute window's 1200 caps six 10 s windows of 300.
    assert allowed_orders(DEFAULT_RATE_LIMITS, T0, T0 + MINUTE_MS) == 1200
    # 20 s: two 10 s windows.
    assert allowed_orders(DEFAULT_RATE_LIMITS, T0, T0 + 20_000) == 600
    # 60 s starting mid-minute: [30 s, 60 s) of one minute (3 windows, 900) and
    # [0, 30 s) of the next (900): 1800.
    assert allowed_orders(DEFAULT_RATE_LIMITS, T0 + 30_000, T0 + 90_000) == 1800
    # Starting 5 s into a 10 s window still meets that whole window.
    assert allowed_orders(DEFAULT_RATE_LIMITS, T0 + 5_000, T0 + 15_000) == 600
    only_weight = (RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=9),)
    assert allowed_orders(only_weight, T0, T0 + MINUTE_MS) == 0


def test_jain_index() -> None:
    assert jain_index([5, 5, 5, 5]) == 1.0
    assert jain_index([1, 0, 0, 0]) == 0.25
    assert jain_index([]) == 1.0


async def test_targets_on_a_short_run(autojump_clock: trio.testing.MockClock) -> None:
    result = await limiter_bench(strategies=20, demand=3, seconds=60, seed=3)
    assert result.http_429 == 0
    assert result.http_418 == 0
    assert result.admitted_ratio >= 0.98
    assert result.cancel_wait_p99_s <= 0.05
    assert result.jain_fairness >= 0.95
    assert len(result.admitted_by_strategy) == 20


def test_cli_prints_one_json_object() -> None:
    out = CliRunner().invoke(
        main, ["bench", "limiter", "--strategies", "5", "--seconds", "20", "--json"]
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert set(result) >= {
        "admitted_ratio",
        "http_429",
        "http_418",
        "cancel_wait_p99_s",
        "jain_fairness",
        "wall_s",
    }
    assert result["http_429"] == 0
    assert result["admitted_ratio"] >= 0.98
