"""Seeded random schedules with the user-data stream on: stream faults and REST faults together.

Each seed runs six strategies on two symbols over a thin book (so orders fill
in several trades): resting LIMIT orders near the market (a seeded random
walk fills some of them behind the engine's back, often partially), MARKET
orders that walk the book, IOC orders, and cancels. Meanwhile the exchange
drops, duplicates, reorders and delays stream events, closes connections,
silences one (half-open), expires the listen key with and without telling,
and drops, loses and 503s order requests. Then the market stops, the faults
heal, the engine gets time to reconcile, and the run is checked against the
exchange's ledger:

- I1: no client order id appears twice on the exchange;
- I2: every call a strategy made got exactly one answer, within
  :data:`~tests.faults.support.CALL_BOUND_S` of its start (and the run ends
  inside its ``trio.fail_after``, so no call was left waiting);
- I3: every order on the exchange is known to the engine, with the same
  status, executed quantity and average price; an order the exchange never had
  ended REJECTED or UNRESOLVED, never in a transient status;
- I4: the fills published for each order add up to its executed quantity (no
  fill counted twice, none lost), and positions agree three ways: the ledger,
  ``Executor.positions()`` and the sum of the engine's own fills.
"""

from __future__ import annotations

import random
from decimal import Decimal
from functools import partial
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from tests.faults.support import Calls, check_against_ledger
from trio_fapi import OrderRequest
from trio_fapi.actors.executor import Executor
from trio_fapi.protocol.messages import OrderSnapshot
from trio_fapi.sim import FaultKind, FaultPlan, SimHandle
from trio_fapi.sim.faults import STREAM_FAULTS

from .support import (
    STREAM_BOUND_S,
    STREAM_STILL,
    Events,
    engine_positions,
    ledger_positions,
    open_stream_engine,
    reported_positions,
    watch,
)

SEEDS = (1, 2, 3, 4)
STRATEGIES = 6
INTENTS_PER_STRATEGY = 60
#: Order sizes, a few book levels deep, so fills come in several trades.
SIZES = {"BTCUSDT": ("0.004", "0.006", "0.010"), "ETHUSDT": ("0.050", "0.080", "0.120")}
#: Price walk: ticks per step (standard deviation), and how far from the start it may go.
WALK_TICKS = 6
MAX_TICKS = 400
#: A still market with a thin book: each level holds a fraction of one order.
THIN = attrs.evolve(
    STREAM_STILL,
    tick_s=1.0,
    symbols=tuple(
        attrs.evolve(s, level_qty=Decimal("0.002" if s.rules.symbol.value == "BTCUSDT" else "0.02"))
        for s in STREAM_STILL.symbols
    ),
)
ENGINE: dict[str, Any] = {
    "poll_interval_s": 2.0,
    "stream_poll_interval_s": 10.0,
    "stream_ping_interval_s": 5.0,
    "stream_pong_timeout_s": 2.0,
    "listen_key_keepalive_s": 60.0,
}
#: After the heal: more than the unknown-resolution bound (30 s), a keep-alive
#: period (a silently expired key is found by the next keep-alive), and a few
#: safety-net polls (events dropped on a live connection).
RECONCILE_S = 120.0


def fault_plan(seed: int) -> FaultPlan:
    """REST faults on order routes and per-event stream faults, a few percent each."""
    return FaultPlan(
        seed=seed,
        p_drop=0.03,
        p_lost=0.03,
        p_503_unknown=0.03,
        p_event_drop=0.05,
        p_event_dup=0.05,
        p_event_reorder=0.05,
        p_event_delay=0.05,
        event_delay_s=2.0,
    )


async def move_prices(sim: SimHandle, rng: random.Random, stop: trio.Event) -> None:
    """A seeded random walk of both symbols, a few ticks a step, until ``stop``.

    Small steps cross a resting order by a level or two at a time, so orders
    fill in several trades over several steps.
    """
    start = {symbol: sim.exchange.config.spec(symbol) for symbol in SIZES}
    offset = dict.fromkeys(SIZES, 0)
    while not stop.is_set():
        for symbol, spec in sorted(start.items()):
            assert spec is not None
            walked = offset[symbol] + round(rng.gauss(0, WALK_TICKS))
            offset[symbol] = max(-MAX_TICKS, min(MAX_TICKS, walked))
            tick = spec.rules.price_filter.tick_size
            sim.set_price(symbol, spec.start_price + tick * offset[symbol])
        await trio.sleep(0.5)


async def break_streams(sim: SimHandle, rng: random.Random, stop: trio.Event) -> None:
    """Scripted stream faults at random moments: close, half-open, key expiry.

    The key expires with the ``listenKeyExpired`` notice or silently, on any
    connection (a half-open one included) or while the stream is down. The
    engine survives each: every reconnect POSTs the listen key, so a key that
    died unseen is replaced then, and the keep-alive finds one that died under
    a live connection.
    """
    while not stop.is_set():
        await trio.sleep(rng.uniform(2.0, 6.0))
        action = rng.choices(["close", "silence", "expire", "expire_quietly"], [4, 2, 2, 1])[0]
        if action == "close":
            sim.disconnect_streams()
        elif action == "silence":
            sim.silence_streams(True)
            sim.silence_streams(False)  # only the connections open now go half-open
        else:
            sim.expire_listen_keys(notify=action == "expire")


async def strategy(ex: Executor, calls: Calls, name: str, rng: random.Random) -> None:
    """One strategy's schedule: random order kinds, sizes, prices, pauses and cancels."""
    for k in range(INTENTS_PER_STRATEGY):
        symbol = rng.choice(sorted(SIZES))
        qty = rng.choice(SIZES[symbol])
        tick = ex.rules(symbol).price_filter.tick_size
        book = await ex.book_ticker(symbol)
        kind = rng.choices(["rest", "market", "ioc"], weights=[6, 2, 2])[0]
        side = rng.choice(["BUY", "SELL"])
        if kind == "market":
            request = OrderRequest.market(symbol, side, qty)
        elif kind == "ioc":
            price = book.ask_price if side == "BUY" else book.bid_price
            price += tick * rng.randint(0, 3) * (1 if side == "BUY" else -1)
            request = OrderRequest.limit(symbol, side, qty, price, time_in_force="IOC")
        else:
            away = tick * rng.randint(1, 4 * WALK_TICKS)
            price = book.bid_price - away if side == "BUY" else book.ask_price + away
            request = OrderRequest.limit(symbol, side, qty, price)
        placed = await calls.make(
            f"{name}#{k}:place", partial(ex.place_order, request, strategy=name)
        )
        if kind == "rest" and isinstance(placed, OrderSnapshot) and rng.random() < 0.5:
            await trio.sleep(rng.uniform(0, 3))
            cancel = partial(ex.cancel_order, placed.symbol, placed.client_order_id, strategy=name)
            await calls.make(f"{name}#{k}:cancel", cancel)
        await trio.sleep(rng.uniform(0, 1))


def check_fills(ex: Executor, events: Events) -> int:
    """I4: per order, the published fills add up to the executed quantity; how many fills."""
    fills = 0
    for order in ex.orders():
        published = events.fills(order.client_order_id.value)
        fills += len(published)
        total = sum((f.last_qty for f in published), Decimal(0))
        assert total == order.executed_qty, (
            f"I4: {order.client_order_id}: fills {[f.last_qty for f in published]} "
            f"add up to {total}, executed {order.executed_qty}"
        )
        assert order.quantity is None or order.executed_qty <= order.quantity
    return fills


@attrs.frozen(kw_only=True)
class Outcome:
    """What one schedule left behind, checked after the engine has shut down."""

    calls: Calls
    injected: frozenset[FaultKind]
    fills: int


async def run_schedule(seed: int) -> Outcome:
    """One seeded schedule, the heal, and every check against the ledger while it runs."""
    calls = Calls()
    with trio.fail_after(STREAM_BOUND_S * 2):
        async with (
            open_stream_engine(sim_config=attrs.evolve(THIN, seed=seed), **ENGINE) as rig,
            watch(rig.ex, buffer=1_000_000) as events,
        ):
            sim, ex = rig.sim, rig.ex
            sim.set_faults(fault_plan(seed))
            stop = trio.Event()
            async with trio.open_nursery() as chaos:
                chaos.start_soon(move_prices, sim, random.Random(seed), stop)
                chaos.start_soon(break_streams, sim, random.Random(-seed), stop)
                async with trio.open_nursery() as nursery:
                    for i in range(STRATEGIES):
                        rng = random.Random(seed * 1_000 + i)
                        nursery.start_soon(strategy, ex, calls, f"s{i}", rng)
                stop.set()
            injected = frozenset(f.kind for f in sim.injected_faults())
            sim.set_faults(None)  # heal
            await trio.sleep(RECONCILE_S)
            check_against_ledger(ex, sim)
            fills = check_fills(ex, events)
            ledger = ledger_positions(sim)
            assert await reported_positions(ex) == ledger
            assert engine_positions(ex) == ledger
            assert rig.stream.gaps >= 1
            assert rig.stream.connected, "the stream did not come back after the heal"
    return Outcome(calls=calls, injected=injected, fills=fills)


@pytest.mark.parametrize("seed", SEEDS)
async def test_stream_and_rest_faults_then_heal(
    seed: int, autojump_clock: trio.testing.MockClock
) -> None:
    """Rows 37-41 with REST faults (8, 15, 14) at random: after the heal, I1-I4 and I8 hold."""
    outcome = await run_schedule(seed)
    assert outcome.fills > 0
    injected = outcome.injected
    assert len(injected & STREAM_FAULTS) >= 6, injected  # the stream really misbehaved
    assert FaultKind.KEY_EXPIRE in injected, injected  # the key died, seen or not
    assert len(injected - STREAM_FAULTS) >= 2, injected  # and so did REST
    calls = outcome.calls
    assert len(calls.keys(":place")) == STRATEGIES * INTENTS_PER_STRATEGY
    assert calls.keys(":cancel")
    calls.assert_one_answer_each()
