"""Seeded random schedules: many strategies, many intents, random faults, then the checkers.

Each seed runs 8 strategies on two symbols, 200 intents in all (LIMIT orders
that rest and are often canceled, MARKET orders, IOC orders that fill or
expire), while the exchange drops, loses, 503s and delays order requests, races
fills against cancels and hides young orders from queries, and a seeded random
walk moves prices so resting orders fill behind the engine's back. Then the
market and the faults stop (heal), the engine gets time to reconcile, and the
run is checked against the exchange's ledger, Jepsen-style:

- I1: no client order id appears twice on the exchange;
- I2: every call a strategy made got exactly one answer, within
  :data:`~tests.faults.support.CALL_BOUND_S` of its start (and the run ends
  inside its ``trio.fail_after``, so no call was left waiting);
- I3: for every order on the exchange, the engine knows it and agrees on status,
  executed quantity and average price;
- I8: an order the exchange never had ends REJECTED (by proof) or UNRESOLVED
  (escalated), never stuck in a transient status;
- I7: the executor shuts down within its drain bound and leaves no task behind.

The market stands still once the strategies are done: without a user-data
stream the engine learns of a fill by polling, so a fill in the last poll
interval before the check would be a race of the test, not a bug of the
engine. The fault mix and the price path are fixed per seed.
"""

from __future__ import annotations

import random
from decimal import Decimal
from functools import partial

import pytest
import trio
import trio.testing

from tests.scenarios.test_end_to_end import config_for
from trio_fapi import OrderRequest, open_executor
from trio_fapi.actors.executor import Executor
from trio_fapi.protocol.messages import OrderSnapshot
from trio_fapi.sim import FaultPlan, SimHandle, default_config, open_sim

from .support import BOUND_S, Calls, check_against_ledger, live_engine_tasks

STRATEGIES = 8
INTENTS_PER_STRATEGY = 25
SYMBOLS = {"BTCUSDT": "0.002", "ETHUSDT": "0.050"}
#: How long the engine gets to reconcile after the heal: more than the unknown
#: resolution bound (30 s) plus a few polling rounds.
RECONCILE_S = 45.0


def fault_plan(seed: int) -> FaultPlan:
    """Every per-request fault of the catalogue's ambiguity rows, at a few percent each."""
    return FaultPlan(
        seed=seed,
        p_drop=0.05,
        p_lost=0.05,
        p_503_unknown=0.05,
        p_delay=0.04,
        p_cancel_race=0.15,
        delay_s=15.0,
        query_lag_ms=2_000,
    )


async def move_prices(sim: SimHandle, rng: random.Random, stop: trio.Event) -> None:
    """A seeded random walk of every traded symbol, until ``stop``."""
    start = {symbol: sim.exchange.config.spec(symbol) for symbol in SYMBOLS}
    level = {symbol: Decimal(1) for symbol in SYMBOLS}
    while not stop.is_set():
        for symbol, spec in sorted(start.items()):
            assert spec is not None
            step = Decimal(str(round(rng.gauss(0, 0.0008), 6)))
            level[symbol] = min(Decimal("1.01"), max(Decimal("0.99"), level[symbol] + step))
            sim.set_price(symbol, spec.start_price * level[symbol])
        await trio.sleep(0.5)


async def strategy(ex: Executor, calls: Calls, name: str, rng: random.Random) -> None:
    """One strategy's schedule: random order kinds, sizes, prices and pauses."""
    for k in range(INTENTS_PER_STRATEGY):
        symbol = rng.choice(sorted(SYMBOLS))
        qty = SYMBOLS[symbol]
        tick = ex.rules(symbol).price_filter.tick_size
        book = await ex.book_ticker(symbol)
        kind = rng.choices(["rest", "market", "ioc"], weights=[5, 2, 2])[0]
        side = rng.choice(["BUY", "SELL"])
        if kind == "market":
            request = OrderRequest.market(symbol, side, qty)
        elif kind == "ioc":
            price = book.ask_price if side == "BUY" else book.bid_price
            price += tick * rng.randint(-3, 3) * (1 if side == "BUY" else -1)
            request = OrderRequest.limit(symbol, side, qty, price, time_in_force="IOC")
        else:
            # 0.05% to 0.5% away: some rest until canceled, some fill as the market moves.
            fraction = Decimal(str(round(rng.uniform(0.0005, 0.005), 6)))
            away = (book.bid_price * fraction / tick).to_integral_value() * tick
            price = book.bid_price - away if side == "BUY" else book.ask_price + away
            request = OrderRequest.limit(symbol, side, qty, price)
        placed = await calls.make(
            f"{name}#{k}:place", partial(ex.place_order, request, strategy=name)
        )
        if kind == "rest" and isinstance(placed, OrderSnapshot) and rng.random() < 0.6:
            await trio.sleep(rng.uniform(0, 2))
            cancel = partial(ex.cancel_order, placed.symbol, placed.client_order_id, strategy=name)
            await calls.make(f"{name}#{k}:cancel", cancel)
        await trio.sleep(rng.uniform(0, 0.5))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_random_faults_then_heal(seed: int, autojump_clock: trio.testing.MockClock) -> None:
    """Rows 8-15, 19, 32-34 at random: after the heal, I1, I2, I3, I7 and I8 hold."""
    calls = Calls()
    async with open_sim(default_config(seed=seed).still_market()) as sim:
        config = config_for(sim, poll_interval_s=1.0)
        with trio.fail_after(BOUND_S * 2):
            async with open_executor(config, transport=sim.transport) as ex:
                sim.set_faults(fault_plan(seed))
                market_closed = trio.Event()
                async with trio.open_nursery() as market:
                    market.start_soon(move_prices, sim, random.Random(seed), market_closed)
                    async with trio.open_nursery() as nursery:
                        for i in range(STRATEGIES):
                            rng = random.Random(seed * 1_000 + i)
                            nursery.start_soon(strategy, ex, calls, f"s{i}", rng)
                    market_closed.set()
                injected = sim.injected_faults()
                sim.set_faults(None)  # heal
                await trio.sleep(RECONCILE_S)
                check_against_ledger(ex, sim)
                closing = trio.current_time()
            assert trio.current_time() - closing <= config.drain_s  # I7: bounded drain
            assert live_engine_tasks() == []  # I7: nothing left running
    assert len({f.kind for f in injected}) >= 5  # the schedule really mixed the faults
    assert len(calls.keys(":place")) == STRATEGIES * INTENTS_PER_STRATEGY
    assert calls.keys(":cancel")
    calls.assert_one_answer_each()
