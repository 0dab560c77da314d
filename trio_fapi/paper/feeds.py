"""Market-data sources that drive a paper broker from a task.

Besides pushing data yourself (:meth:`PaperBroker.update_market_data`), a
broker can be driven by a feed: a task that moves its market on trio's clock.
Each feed's ``run(broker, *, task_status)`` is started with
``nursery.start(feed.run, broker)`` (``open_paper_venue(feeds=...)`` does it),
and delivers callbacks after every move. Under ``trio.testing.MockClock`` an
hour of market time takes no wall time.

- :class:`RandomWalkFeed`: the simulated exchange's own seeded random walk.
- :class:`ReplayFeed`: recorded ticks (from a CSV file), paced by their times.
- :class:`FundingFeed`: a funding payment at a fixed rate every interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, assert_never, final

import attrs
import trio

from trio_fapi.protocol.numbers import to_decimal

from .errors import InvalidSetting
from .market_data import non_negative
from .replay import PriceTick, QuoteTick, ReplayTick, read_market_csv

if TYPE_CHECKING:
    from .broker import PaperBroker

__all__ = ["FundingFeed", "MarketFeed", "RandomWalkFeed", "ReplayFeed"]


class MarketFeed(Protocol):
    """Anything that drives a broker's market from a task."""

    async def run(
        self, broker: PaperBroker, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Call ``task_status.started()``, then move the market until cancelled or done."""


def _volatility(value: object) -> Decimal:
    return non_negative(value, field="volatility")


def _symbols(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


@final
@attrs.frozen(kw_only=True)
class RandomWalkFeed:
    """Move every (or the named) symbol by the simulated exchange's seeded random walk.

    The walk is the simulated exchange's own: each step (one second of trio
    time on a paper market) moves the price by a normal draw of
    ``volatility * sqrt(step) * price``, rounded to whole ticks, from a
    generator seeded by the broker's seed. A symbol held by a pushed quote or
    book does not move.

    Attributes:
        volatility: Relative standard deviation of the move per second.
        symbols: The symbols to move; ``None`` for all.
    """

    volatility: Decimal = attrs.field(default=Decimal("0.0001"), converter=_volatility)
    symbols: tuple[str, ...] | None = attrs.field(default=None, converter=_symbols)

    async def run(
        self, broker: PaperBroker, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Set the volatility, then step the market forever."""
        names = (
            self.symbols
            if self.symbols is not None
            else tuple(s.symbol for s in broker.config.symbols)
        )
        for symbol in names:
            broker.set_volatility(symbol, self.volatility)
        task_status.started()
        while True:
            await broker.next_step()


def _ticks(value: Iterable[ReplayTick]) -> tuple[ReplayTick, ...]:
    return tuple(value)


def _speed(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise InvalidSetting(name="speed", reason="must be positive (or None: no pacing)")
    return value


@final
@attrs.frozen(kw_only=True)
class ReplayFeed:
    """Replay recorded ticks into the broker, paced by their timestamps.

    Attributes:
        ticks: The ticks, in time order.
        speed: How many times faster than recorded (``1.0``: as recorded);
            ``None`` replays without pacing, one tick per scheduling point.
    """

    ticks: tuple[ReplayTick, ...] = attrs.field(converter=_ticks)
    speed: float | None = attrs.field(default=1.0, converter=_speed)

    @classmethod
    def from_csv(
        cls, path: str | Path, *, symbol: str | None = None, speed: float | None = 1.0
    ) -> ReplayFeed:
        """Load a CSV file (see :mod:`trio_fapi.paper.replay` for the layouts)."""
        return cls(ticks=read_market_csv(path, symbol=symbol), speed=speed)

    async def run(
        self, broker: PaperBroker, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Push every tick at its time, then return."""
        task_status.started()
        if not self.ticks:
            return
        start = trio.current_time()
        first = self.ticks[0].time
        for tick in self.ticks:
            if self.speed is None:
                await trio.lowlevel.checkpoint()
            else:
                await trio.sleep_until(start + (tick.time - first) / 1000 / self.speed)
            apply_tick(broker, tick)
            await broker.flush_callbacks()


def apply_tick(broker: PaperBroker, tick: ReplayTick) -> None:
    """Push one recorded tick into ``broker``."""
    match tick:
        case QuoteTick():
            broker.update_market_data(
                tick.symbol,
                tick.bid,
                tick.ask,
                tick.last,
                tick.volume,
                bid_qty=tick.bid_qty,
                ask_qty=tick.ask_qty,
            )
        case PriceTick():
            broker.update_price(tick.symbol, tick.price, tick.volume)
        case _:
            assert_never(tick)


def _rates(value: Mapping[str, object]) -> Mapping[str, Decimal]:
    return MappingProxyType(
        {s: to_decimal(r, field=f"rates[{s!r}]", positive=False) for s, r in value.items()}
    )


def _interval(value: float) -> float:
    if not value > 0:
        raise InvalidSetting(name="interval_s", reason="must be positive")
    return value


@final
@attrs.frozen(kw_only=True)
class FundingFeed:
    """Settle funding at fixed rates every ``interval_s`` of trio time.

    Binance settles every eight hours at fixed UTC times; this feed counts
    intervals from its start instead, which is what a test or a replay wants.

    Attributes:
        rates: The funding rate per symbol (positive: longs pay shorts).
        interval_s: Seconds between settlements.
    """

    rates: Mapping[str, Decimal] = attrs.field(converter=_rates)
    interval_s: float = attrs.field(default=8 * 3600.0, converter=_interval)

    async def run(
        self, broker: PaperBroker, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Settle every interval until cancelled."""
        task_status.started()
        while True:
            await trio.sleep(self.interval_s)
            for symbol, rate in self.rates.items():
                broker.settle_funding(symbol, rate)
            await broker.flush_callbacks()
