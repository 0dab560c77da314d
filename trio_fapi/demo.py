"""``trio-fapi demo``: several strategies trading at once through one executor.

With no flags it starts the embedded simulated exchange (no keys, no network)
and runs, for about ten seconds:

- two market makers, quoting and re-quoting BTCUSDT and ETHUSDT around the book;
- a taker, sending small market orders that alternate sides.

It shows live progress, cancels what is still open, and prints a summary:
orders, fills, fees, PnL, rate-limit headroom and latency percentiles.
``--base-url`` points it at any Binance-compatible endpoint instead (a
``trio-fapi sim`` server, or testnet with keys from the environment).
``--paper`` runs the same strategies, unchanged, on a paper broker
(:mod:`trio_fapi.paper`) whose market follows a seeded random walk, with a
simulated network latency.

Before it reports, the demo settles every order: it waits for placements
whose outcome is unknown to be resolved by evidence, cancels what is still
open and confirms with the exchange's open-orders list. ``--report`` then
holds the engine's final view of each order, which ``trio-fapi check-report``
compares with a ``trio-fapi sim`` ledger (:mod:`trio_fapi.report_check`).
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import attrs
import httpx
import trio
from rich.console import Console
from rich.live import Live
from rich.table import Table

from trio_fapi.actors.executor import Executor, StrategyHandle, open_executor
from trio_fapi.config import ExecutorConfig
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.protocol.enums import OrderSide, OrderStatus, TimeInForce
from trio_fapi.protocol.errors import EngineError
from trio_fapi.protocol.messages import ExecutorEvent, OrderFilled, OrderSnapshot
from trio_fapi.protocol.numbers import fmt
from trio_fapi.protocol.orders import OrderRequest
from trio_fapi.protocol.stream_transport import StreamConnector

__all__ = ["DemoResult", "run_demo"]

_ZERO = Decimal(0)


@attrs.define
class _Tally:
    """Per-strategy counters, owned by the demo task."""

    placed: int = 0
    rejected: int = 0
    canceled: int = 0
    fills: int = 0
    filled_qty: Decimal = _ZERO
    errors: int = 0
    place_latency: list[float] = attrs.field(factory=list)
    cancel_latency: list[float] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class DemoResult:
    """What the demo did, for the summary and for tests.

    ``unsettled`` lists the client ids of orders that were still not final
    when the settle budget ran out (or that the exchange still listed as open
    although the engine had them final); a clean run leaves it empty.
    """

    orders: list[dict[str, object]]
    tallies: dict[str, _Tally]
    fees: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    max_weight_used: int
    weight_limit: int
    elapsed_s: float
    session: str = ""
    unsettled: tuple[str, ...] = ()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _timed(
    samples: list[float], tally: _Tally, coro_fn: Callable[[], Awaitable[OrderSnapshot]]
) -> OrderSnapshot | None:
    """Run one engine call, recording its latency; an engine error counts, never raises."""
    start = trio.current_time()
    try:
        return await coro_fn()
    except EngineError:
        tally.errors += 1
        return None
    finally:
        samples.append(trio.current_time() - start)


async def _market_maker(
    handle: StrategyHandle, symbol: str, tally: _Tally, *, size: str, requote_s: float
) -> None:
    """Quote one bid and one ask a few ticks outside the touch; re-quote often."""
    ex = handle.executor
    rules = ex.rules(symbol)
    tick = rules.price_filter.tick_size
    quotes: list[str] = []
    while True:
        book = await ex.book_ticker(symbol)
        bid = rules.round_price(book.bid_price - tick * 2, OrderSide.BUY)
        ask = rules.round_price(book.ask_price + tick * 2, OrderSide.SELL)
        qty = Decimal(size)
        for cid in quotes:
            snap = await _timed(tally.cancel_latency, tally, partial(handle.cancel, symbol, cid))
            if snap is not None:
                tally.canceled += 1
        quotes.clear()
        for side, price in ((OrderSide.BUY, bid), (OrderSide.SELL, ask)):
            req = OrderRequest.limit(symbol, side, qty, price, time_in_force=TimeInForce.GTX)
            snap = await _timed(tally.place_latency, tally, partial(handle.place, req))
            tally.placed += 1
            if snap is None:
                tally.rejected += 1
            elif not snap.is_terminal:
                quotes.append(snap.client_order_id.value)
        await trio.sleep(requote_s)


async def _taker(
    handle: StrategyHandle, symbol: str, tally: _Tally, *, size: str, every_s: float
) -> None:
    """Cross the spread with small market orders, alternating sides."""
    side = OrderSide.BUY
    while True:
        req = OrderRequest.market(symbol, side, size)
        snap = await _timed(tally.place_latency, tally, partial(handle.place, req))
        tally.placed += 1
        if snap is None:
            tally.rejected += 1
        side = side.opposite
        await trio.sleep(every_s)


async def _count_fills(
    events: trio.MemoryReceiveChannel[ExecutorEvent], tallies: dict[str, _Tally]
) -> None:
    async for event in events:
        if isinstance(event, OrderFilled):
            tally = tallies[event.order.strategy]
            tally.fills += 1
            tally.filled_qty += event.last_qty


def _table(ex: Executor, tallies: dict[str, _Tally], elapsed: float) -> Table:
    table = Table(title=f"trio-fapi demo  t={elapsed:5.1f}s")
    for col in ("strategy", "placed", "rejected", "canceled", "fills", "errors", "p50 place ms"):
        table.add_column(col, justify="right" if col != "strategy" else "left")
    for name, t in tallies.items():
        p50 = _percentile(t.place_latency, 0.5) * 1000
        table.add_row(
            name,
            str(t.placed),
            str(t.rejected),
            str(t.canceled),
            str(t.fills),
            str(t.errors),
            f"{p50:.2f}",
        )
    weight = next((w for w in ex.statistics().limiter.windows if w.name.startswith("weight")), None)
    if weight is not None:
        table.caption = f"IP weight {weight.used}/{weight.limit} this minute"
    return table


#: The paper venue's simulated round trip, in milliseconds (seeded draws).
PAPER_LATENCY_MS = (2, 8)
#: Engine deadline for one HTTP attempt against a loopback simulator.
LOOPBACK_REQUEST_TIMEOUT_S = 2.0
#: recvWindow against a loopback simulator: the window after which "no such
#: order" proves a lost placement absent, so it bounds how long settling takes.
LOOPBACK_RECV_WINDOW_MS = 2000
#: How long a new order may stay invisible to ``GET order`` on a loopback
#: simulator. ``trio-fapi sim`` shows an order as soon as it accepts it (unless
#: started with ``--faults query_lag_ms=...``, which must stay below this), so
#: one second is a wide margin, and a dropped placement is proven absent about
#: three seconds after it was sent instead of eight.
LOOPBACK_QUERY_LAG_S = 1.0
#: Statuses of an order whose placement job is still running in the engine.
_PLACING = frozenset({OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN})
#: Pause while placements are still being resolved (a local check, no request).
_SETTLE_POLL_S = 0.05
#: Pause before cancelling again what a round of cancels left open (requests).
_SETTLE_RETRY_S = 0.25


def _settle_budget_s(config: ExecutorConfig) -> float:
    """How long settling may take.

    A placement sent at the last moment can time out, and then needs its
    recvWindow plus the query-lag budget before "no such order" proves it
    absent; one more poll interval and a second of slack cover the answers.
    """
    return (
        config.request_timeout_s
        + config.recv_window_ms / 1000
        + config.query_lag_s
        + config.poll_interval_s
        + 1.0
    )


async def _settle(ex: Executor, symbols: tuple[str, ...], *, budget_s: float) -> tuple[str, ...]:
    """Bring every order of this run to a final status the exchange agrees with.

    A report written while placements are still unknown, or while quotes
    placed during the shutdown still rest, would disagree with the exchange for
    reasons that say nothing about the engine. So: wait for the engine to
    resolve each unknown placement by evidence (it never resends), cancel what
    is open (a cancel that races a fill returns the fill), and finally list the
    exchange's open orders once, to catch anything the engine thinks final
    that the exchange still holds.

    Returns:
        Client ids still not final after ``budget_s``, or listed open by the
        exchange although the engine has them final; empty on success.
    """
    with trio.move_on_after(budget_s):
        while True:
            snaps = ex.orders()
            if any(s.status in _PLACING for s in snaps):
                await trio.sleep(_SETTLE_POLL_S)
                continue
            live = [s for s in snaps if not s.is_terminal]
            if not live:
                break
            for snap in live:
                call = ex.query_order if snap.status is OrderStatus.UNRESOLVED else ex.cancel_order
                with contextlib.suppress(EngineError):  # the next round looks again
                    await call(snap.symbol, snap.client_order_id, strategy=snap.strategy)
            await trio.sleep(_SETTLE_RETRY_S)
    final = {s.client_order_id.value: s for s in ex.orders()}
    left = {cid for cid, s in final.items() if not s.is_terminal}
    for symbol in symbols:
        try:
            listed = await ex.open_orders(symbol)
        except EngineError:
            continue
        left.update(o.client_order_id for o in listed if o.client_order_id in final)
    return tuple(sorted(left))


@asynccontextmanager
async def _venue(
    base_url: str | None, seed: int, *, paper: bool = False
) -> AsyncIterator[tuple[ExecutorConfig, httpx.AsyncBaseTransport | None, StreamConnector | None]]:
    """The embedded simulated exchange, a paper broker, or the endpoint the user named.

    Yields the config, the in-process transport (``None``: the network) and the
    in-process stream connector (``None``: trio-websocket, or no stream).
    """
    if paper:
        if base_url is not None:
            raise ValueError("paper trading runs in-process: give --paper or --base-url, not both")
        from trio_fapi.paper import PaperBroker, RandomWalkFeed, open_paper_venue

        broker = PaperBroker({"USDT": 100_000}, seed=seed)
        broker.set_latency_simulation(*PAPER_LATENCY_MS)
        async with open_paper_venue(broker, feeds=[RandomWalkFeed()], poll_interval_s=0.5) as venue:
            yield venue.config, venue.transport, None
    elif base_url is None:
        from trio_fapi.sim import default_config, open_sim

        sim_config = default_config(seed=seed)
        async with open_sim(sim_config) as sim:
            config = ExecutorConfig(
                base_url=sim.base_url,
                stream_url=sim.stream_url,
                credentials=Credentials(
                    api_key=sim.config.api_key, api_secret=sim.config.api_secret
                ),
                poll_interval_s=0.5,
                seed=seed,
            )
            yield config, sim.transport, sim.stream_connector
    else:
        host = urlsplit(base_url).hostname or ""
        if host in ("127.0.0.1", "localhost", "::1"):
            # A loopback simulator: never send real keys from the environment to it.
            # Its answers take microseconds, so a much shorter timeout and window
            # still leave a wide margin, and an unknown outcome (a fault the sim
            # injected) is resolved in seconds rather than tens of seconds.
            config = ExecutorConfig(
                base_url=base_url,
                credentials=Credentials(api_key="sim-key", api_secret="sim-secret"),
                poll_interval_s=0.5,
                seed=seed,
                request_timeout_s=LOOPBACK_REQUEST_TIMEOUT_S,
                recv_window_ms=LOOPBACK_RECV_WINDOW_MS,
                query_lag_s=LOOPBACK_QUERY_LAG_S,
            )
        else:
            config = ExecutorConfig.from_env(base_url=base_url, poll_interval_s=0.5, seed=seed)
        yield config, None, None


async def run_demo(
    *,
    base_url: str | None = None,
    seconds: float = 10.0,
    seed: int = 7,
    report: Path | None = None,
    console: Console | None = None,
    live: bool = True,
    paper: bool = False,
) -> DemoResult:
    """Run the demo strategies and return what happened.

    Args:
        base_url: A Binance-compatible endpoint; ``None`` runs in-process.
        seconds: How long the strategies trade.
        seed: Seeds the venue and the engine's jitter.
        report: Where to write a JSON report of every order.
        console: Where to print (a fresh one by default).
        live: Show a live table while trading.
        paper: Trade on an in-process paper broker instead of the simulated exchange.

    Raises:
        ValueError: Both ``paper`` and ``base_url`` were given.
    """
    # Without a terminal rich assumes 80 columns; the summary needs more.
    console = console or Console(width=None if sys.stdout.isatty() else 140)
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    async with (
        _venue(base_url, seed, paper=paper) as (config, transport, stream_connector),
        open_executor(config, transport=transport, stream_connector=stream_connector) as ex,
    ):
        start = trio.current_time()
        max_weight = 0
        symbols = ("BTCUSDT", "ETHUSDT")
        strategies: list[tuple[str, Callable[[StrategyHandle, _Tally], object]]] = [
            ("mm-btc", lambda h, t: _market_maker(h, "BTCUSDT", t, size="0.002", requote_s=0.4)),
            ("mm-eth", lambda h, t: _market_maker(h, "ETHUSDT", t, size="0.05", requote_s=0.4)),
            ("taker", lambda h, t: _taker(h, "BTCUSDT", t, size="0.002", every_s=0.5)),
        ]
        for name, _ in strategies:
            tallies[name] = _Tally()
        async with ex.subscribe(4096) as events, trio.open_nursery() as nursery:
            nursery.start_soon(_count_fills, events, tallies)
            async with trio.open_nursery() as strategy_nursery:
                for name, fn in strategies:
                    strategy_nursery.start_soon(fn, ex.strategy(name), tallies[name])  # type: ignore[arg-type]
                with (
                    Live(
                        _table(ex, tallies, 0),
                        console=console,
                        refresh_per_second=4,
                        transient=False,
                    )
                    if live
                    else _nullcontext() as view
                ):
                    while trio.current_time() - start < seconds:
                        await trio.sleep(0.25)
                        weight = next(
                            (
                                w
                                for w in ex.statistics().limiter.windows
                                if w.name.startswith("weight")
                            ),
                            None,
                        )
                        if weight is not None:
                            max_weight = max(max_weight, weight.used)
                        if view is not None:
                            view.update(_table(ex, tallies, trio.current_time() - start))
                strategy_nursery.cancel_scope.cancel()
            # Leave nothing resting: each strategy cancels its own open orders.
            for name, _ in strategies:
                for symbol in symbols:
                    try:
                        await ex.cancel_all_orders(symbol, strategy=name)
                    except EngineError:
                        tallies[name].errors += 1
            # Placements cut short by the shutdown go on in the engine: wait for them.
            unsettled = await _settle(ex, symbols, budget_s=_settle_budget_s(ex.config))
            await trio.sleep(0.2)
            nursery.cancel_scope.cancel()
        fees = realized = _ZERO
        for symbol in symbols:
            for trade in await ex.user_trades(symbol):
                fees += trade.commission
                realized += trade.realized_pnl
        unrealized = sum((p.unrealized_pnl for p in await ex.positions()), _ZERO)
        weight_limit = next(
            (w.limit for w in ex.statistics().limiter.windows if w.name.startswith("weight")), 0
        )
        orders = [_report_row(snap) for snap in ex.orders()]
        result = DemoResult(
            orders=orders,
            tallies=dict(tallies),
            fees=fees,
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            max_weight_used=max_weight,
            weight_limit=weight_limit,
            elapsed_s=trio.current_time() - start,
            session=ex.session,
            unsettled=unsettled,
        )
    if report is not None:
        document = {"session": result.session, "unsettled": list(unsettled), "orders": orders}
        await trio.Path(report).write_text(json.dumps(document, indent=2))
    _print_summary(console, result)
    return result


def _report_row(snap: OrderSnapshot) -> dict[str, object]:
    """One order as the report prints it: the fields ``/sim/ledger`` also has.

    Amounts are fixed-point strings (never floats, never exponent form), so
    the report can be compared exactly with the exchange's own text.
    """
    return {
        "strategy": snap.strategy,
        "symbol": snap.symbol.value,
        "clientOrderId": snap.client_order_id.value,
        "orderId": snap.venue_order_id.value if snap.venue_order_id else None,
        "status": snap.status.value,
        "executedQty": fmt(snap.executed_qty),
        "avgPrice": fmt(snap.avg_price),
        "error": snap.error,
    }


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _ms(samples: list[float], quantiles: tuple[float, ...]) -> str:
    if not samples:
        return "-"
    return "/".join(f"{_percentile(samples, q) * 1000:.1f}" for q in quantiles)


def _print_summary(console: Console, result: DemoResult) -> None:
    table = Table(title="summary")
    for col in (
        "strategy",
        "orders",
        "rejected",
        "canceled",
        "fills",
        "filled qty",
        "errors",
        "place p50/p90/p99 ms",
        "cancel p50/p99 ms",
    ):
        table.add_column(col, justify="left" if col == "strategy" else "right")
    for name, t in result.tallies.items():
        pl = _ms(t.place_latency, (0.5, 0.9, 0.99))
        cl = _ms(t.cancel_latency, (0.5, 0.99))
        table.add_row(
            name,
            str(t.placed),
            str(t.rejected),
            str(t.canceled),
            str(t.fills),
            fmt(t.filled_qty),
            str(t.errors),
            pl,
            cl,
        )
    console.print(table)
    headroom = result.weight_limit - result.max_weight_used
    console.print(
        f"fees {fmt(result.fees)} USDT | realized PnL {fmt(result.realized_pnl)} USDT | "
        f"unrealized PnL {fmt(result.unrealized_pnl)} USDT"
    )
    console.print(
        f"rate limit: peak IP weight {result.max_weight_used}/{result.weight_limit} per minute "
        f"(headroom {headroom}); {len(result.orders)} orders in {result.elapsed_s:.1f}s"
    )
    if result.unsettled:
        console.print(
            f"[yellow]{len(result.unsettled)} orders not settled:[/] {', '.join(result.unsettled)}"
        )
