"""``trio-fapi bench limiter``: many strategies against one account's order windows.

Each of ``strategies`` strategies wants ``demand`` times its fair share of the
orders the exchange's windows allow in ``seconds``, starting on a minute
boundary of the server clock; each runs a few workers that
place a resting LIMIT order and cancel it at once. Everything runs in one
process on trio's virtual clock (``MockClock(autojump_threshold=0)``), with the
in-process simulated exchange enforcing the real windows, so a minute of
trading takes about as long as the CPU needs for the requests.

What it reports:

- ``admitted_ratio``: orders acknowledged within the run over the most the
  windows allow in that span (fixed windows aligned to the server clock, counted
  exactly from the run's start and end instants);
- ``http_429`` / ``http_418``: as counted by the simulated exchange;
- ``cancel_wait_p99_s``: the 99th percentile of how long cancels waited for
  admission (the priority lane);
- ``jain_fairness``: Jain's index of the orders admitted per strategy (1 is
  perfectly equal; all strategies have equal shares);
- ``wall_s``: real seconds the run took.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from decimal import Decimal

import attrs
import trio
import trio.testing

from trio_fapi.actors.executor import Executor, open_executor
from trio_fapi.config import ExecutorConfig
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.protocol.errors import EngineError
from trio_fapi.protocol.filters import RateLimit
from trio_fapi.protocol.orders import OrderRequest
from trio_fapi.sim import SimHandle, default_config, open_sim

__all__ = ["LimiterBenchResult", "allowed_orders", "jain_index", "run_limiter_bench"]

_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
_WORKERS_PER_STRATEGY = 4


@attrs.frozen(kw_only=True)
class LimiterBenchResult:
    """One run's numbers (see the module docstring)."""

    strategies: int
    demand: float
    seconds: float
    admitted: int
    allowed: int
    admitted_ratio: float
    http_429: int
    http_418: int
    cancel_wait_p99_s: float
    jain_fairness: float
    admitted_by_strategy: dict[str, int]
    wall_s: float

    def to_json(self) -> dict[str, object]:
        """The result as one JSON object (per-strategy counts left out)."""
        out = attrs.asdict(self)
        out.pop("admitted_by_strategy")
        return out


def jain_index(values: list[int]) -> float:
    """Jain's fairness index: ``(sum x)^2 / (n * sum x^2)``; 1 when all are equal."""
    square_sum = sum(v * v for v in values)
    if not values or square_sum == 0:
        return 1.0
    return sum(values) ** 2 / (len(values) * square_sum)


def allowed_orders(limits: tuple[RateLimit, ...], start_ms: int, end_ms: int) -> int:
    """The most orders fixed, epoch-aligned ORDERS windows admit in ``[start, end)``.

    Windows nest (10 s inside a minute), so the bound is computed from the
    shortest window up: each longer window admits the smaller of its limit and
    the sum of what its shorter windows inside the span admit.
    """
    windows = sorted(
        ((round(r.window_s * 1000), r.limit) for r in limits if r.kind == "ORDERS"),
    )
    if not windows:
        return 0

    def admit(level: int, lo: int, hi: int) -> int:
        length, limit = windows[level]
        if level == 0:
            first, last = lo // length, (hi - 1) // length
            return (last - first + 1) * limit
        total = 0
        index = lo // length
        while index * length < hi:
            w_lo, w_hi = max(lo, index * length), min(hi, (index + 1) * length)
            total += min(limit, admit(level - 1, w_lo, w_hi))
            index += 1
        return total

    return admit(len(windows) - 1, start_ms, end_ms)


async def limiter_bench(
    *, strategies: int = 50, demand: float = 3.0, seconds: float = 60.0, seed: int = 7
) -> LimiterBenchResult:
    """Run the benchmark in the current trio run (use a MockClock for virtual time)."""
    sim_config = default_config(seed=seed).still_market()
    async with open_sim(sim_config) as sim:
        config = ExecutorConfig(
            base_url=sim.base_url,
            credentials=Credentials(api_key=sim_config.api_key, api_secret=sim_config.api_secret),
            seed=seed,
            rest_workers=16,
            order_deadline_s=seconds + 60,
            poll_interval_s=30.0,
            max_in_flight_per_symbol=1024,
            limiter_max_waiting_per_strategy=10_000,
        )
        async with open_executor(config, transport=sim.transport) as ex:
            result = await _drive(sim, ex, strategies, demand, seconds)
    return result


async def _drive(
    sim: SimHandle, ex: Executor, strategies: int, demand: float, seconds: float
) -> LimiterBenchResult:
    prices = {}
    for symbol in _SYMBOLS:
        book = await ex.book_ticker(symbol)
        tick = ex.rules(symbol).price_filter.tick_size
        prices[symbol] = (book.bid_price * Decimal("0.9")).quantize(tick)
    quantities = {s: ex.rules(s).lot_size.min_qty * 10 for s in _SYMBOLS}
    rate_limits = (await ex.exchange_info()).rate_limits
    # Start on a minute boundary of the server clock, so every run measures the
    # same windows (a run that starts mid-window is bounded by that window too).
    await trio.sleep((60_000 - sim.now_ms() % 60_000) / 1000)
    start_ms = sim.now_ms()
    end = trio.current_time() + seconds
    assert start_ms % 60_000 == 0, start_ms
    allowed = allowed_orders(rate_limits, start_ms, start_ms + round(seconds * 1000))
    budget = {f"s{i:02d}": math.ceil(demand * allowed / strategies) for i in range(strategies)}
    admitted: Counter[str] = Counter()

    async def worker(name: str, index: int) -> None:
        symbol = _SYMBOLS[index % len(_SYMBOLS)]
        handle = ex.strategy(name)
        request = OrderRequest.limit(symbol, "BUY", quantities[symbol], prices[symbol])
        while budget[name] > 0 and trio.current_time() < end:
            budget[name] -= 1
            try:
                placed = await handle.place(request)
            except EngineError:
                continue
            if trio.current_time() < end:
                admitted[name] += 1
            if not placed.status.is_terminal:
                await handle.cancel(symbol, placed.client_order_id)

    with trio.move_on_at(end + 1):
        async with trio.open_nursery() as nursery:
            for i in range(strategies):
                for w in range(_WORKERS_PER_STRATEGY):
                    nursery.start_soon(worker, f"s{i:02d}", i * _WORKERS_PER_STRATEGY + w)
    rates = sim.exchange.rates
    waits = ex.statistics().limiter.waits_by_lane["PRIORITY"]
    counts = [admitted[f"s{i:02d}"] for i in range(strategies)]
    total = sum(counts)
    return LimiterBenchResult(
        strategies=strategies,
        demand=demand,
        seconds=seconds,
        admitted=total,
        allowed=allowed,
        admitted_ratio=total / allowed if allowed else 0.0,
        http_429=rates.http_429,
        http_418=rates.http_418,
        cancel_wait_p99_s=waits.p99_s,
        jain_fairness=jain_index(counts),
        admitted_by_strategy=dict(admitted),
        wall_s=0.0,
    )


def run_limiter_bench(
    *, strategies: int = 50, demand: float = 3.0, seconds: float = 60.0, seed: int = 7
) -> LimiterBenchResult:
    """Run the benchmark in a fresh trio run on virtual time; report wall time too."""
    began = time.perf_counter()
    result = trio.run(
        lambda: limiter_bench(strategies=strategies, demand=demand, seconds=seconds, seed=seed),
        clock=trio.testing.MockClock(autojump_threshold=0),
    )
    return attrs.evolve(result, wall_s=round(time.perf_counter() - began, 3))
