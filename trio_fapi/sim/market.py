"""The synthetic market: a seeded price path and an order book around it.

Pure and deterministic: the price after ``n`` steps depends only on the seed,
the symbol and ``n`` (plus any price a test pushed), and the book at a step
depends only on the seed, the symbol, the step and the price. Prices live on
the tick grid as integers, so no float ever touches money; the random walk
draws a float step size and rounds it to whole ticks.

The book is regenerated lazily, at most once per step, because most steps
nobody looks at it. Liquidity taken by the user's orders stays taken until the
next step (:meth:`SymbolMarket.consume`), so one step cannot be drained twice.

Besides the seeded walk, a price can be pushed from outside: a last price
(:meth:`SymbolMarket.set_price`), a whole book (:meth:`SymbolMarket.set_book`)
or a quote, best bid and ask plus a last price (:meth:`SymbolMarket.set_quote`),
which is how the paper broker feeds real or replayed market data into the same
book the matching runs against. A pushed book or quote holds the price until
the next push; the walk moves only symbols nobody pinned.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import final

import attrs

from trio_fapi.protocol.enums import OrderSide

from .candles import Candles
from .config import SimConfig, SymbolSpec

__all__ = ["Book", "Level", "Market", "SymbolMarket"]

_THOUSAND = Decimal(1000)


@final
@attrs.frozen
class Level:
    """One price level: what rests there now."""

    price: Decimal
    qty: Decimal


@final
@attrs.frozen(kw_only=True)
class Book:
    """A snapshot of the book, best levels first."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    update_id: int

    def side(self, taker_side: OrderSide) -> tuple[Level, ...]:
        """The levels an order of ``taker_side`` would trade against."""
        return self.asks if taker_side is OrderSide.BUY else self.bids


@final
@attrs.frozen(kw_only=True)
class _Quote:
    """A pushed best bid and ask (in ticks), with optional top-of-book sizes."""

    bid_ticks: int
    ask_ticks: int
    bid_qty: Decimal | None
    ask_qty: Decimal | None


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@attrs.define(eq=False)
class SymbolMarket:
    """One symbol's price path and book. Mutable; owned by :class:`Market`.

    Attributes:
        volatility: The walk's relative move per second; starts as the spec's,
            and a market-data source may change it.
        volume: The traded volume the last pushed market data reported
            (informational: fills do not depend on it).
        has_data: False until a price, book or quote has been pushed, for a
            market whose start price is only a placeholder; the ledger refuses
            orders on it until then.
    """

    spec: SymbolSpec
    step_s: float
    seed: int
    _path_rng: random.Random = attrs.field(init=False)
    _book_base: int = attrs.field(init=False)
    price_ticks: int = attrs.field(init=False)
    steps: int = attrs.field(init=False, default=0)
    update_id: int = attrs.field(init=False, default=1)
    candles: Candles = attrs.field(init=False)
    volatility: Decimal = attrs.field(init=False)
    volume: Decimal = attrs.field(init=False, default=Decimal(0))
    has_data: bool = attrs.field(init=False, default=True)
    _bids: list[Level] = attrs.field(init=False, factory=list)
    _asks: list[Level] = attrs.field(init=False, factory=list)
    _book_step: int = attrs.field(init=False, default=-1)
    _pinned: tuple[tuple[Level, ...], tuple[Level, ...]] | None = attrs.field(
        init=False, default=None
    )
    _quote: _Quote | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        name = self.spec.symbol
        self._path_rng = random.Random(f"path:{self.seed}:{name}")
        self._book_base = _stable_int(f"book:{self.seed}:{name}")
        self.price_ticks = self._to_ticks(self.spec.start_price)
        self.candles = Candles(tick=self.tick, start_price=self.price)
        self.volatility = self.spec.volatility

    # -- prices ---------------------------------------------------------------

    @property
    def tick(self) -> Decimal:
        """The symbol's tick size."""
        return self.spec.rules.price_filter.tick_size

    @property
    def price(self) -> Decimal:
        """The last price (also the mark price: the simulator has one price)."""
        return (self.tick * self.price_ticks).quantize(self.tick)

    @property
    def best_bid(self) -> Decimal:
        """The best bid price (with an odd spread it equals :attr:`price`)."""
        if self._pinned is not None and self._pinned[0]:
            return self._pinned[0][0].price
        if self._quote is not None:
            return (self.tick * self._quote.bid_ticks).quantize(self.tick)
        return (self.tick * (self.price_ticks - self.spec.spread_ticks // 2)).quantize(self.tick)

    @property
    def best_ask(self) -> Decimal:
        """The best ask price."""
        if self._pinned is not None and self._pinned[1]:
            return self._pinned[1][0].price
        if self._quote is not None:
            return (self.tick * self._quote.ask_ticks).quantize(self.tick)
        return self.best_bid + self.tick * self.spec.spread_ticks

    @property
    def is_pinned(self) -> bool:
        """Whether a pushed book or quote holds the price (the walk leaves it alone)."""
        return self._pinned is not None or self._quote is not None

    def _to_ticks(self, price: Decimal) -> int:
        return int((price / self.tick).to_integral_value())

    def _min_ticks(self) -> int:
        floor = self.spec.rules.price_filter.min_price
        half_book = self.spec.spread_ticks + self.spec.depth_levels + 1
        return max(self._to_ticks(floor) + half_book, half_book)

    def step(self, now_ms: int) -> None:
        """Move the price one step of the seeded random walk."""
        self.steps += 1
        if self.volatility > 0 and not self.is_pinned:
            sigma = float(self.volatility) * math.sqrt(self.step_s) * self.price_ticks
            move = round(self._path_rng.gauss(0.0, sigma))
            self.price_ticks = max(self._min_ticks(), self.price_ticks + move)
        elif self.volatility > 0:
            self._path_rng.gauss(0.0, 1.0)  # keep the path aligned with unpinned runs
        self.candles.record_price(now_ms, self.price)

    def set_price(self, price: Decimal, now_ms: int, *, volume: Decimal | None = None) -> None:
        """Move the price to ``price`` (snapped to the tick grid); unpins the book.

        Args:
            price: The new last (and mark) price.
            now_ms: When, for the candles.
            volume: The traded volume to report with it, if known.
        """
        self.price_ticks = max(1, self._to_ticks(price))
        self._pinned = None
        self._quote = None
        self._pushed(now_ms, volume)

    def set_quote(
        self,
        bid: Decimal,
        ask: Decimal,
        last: Decimal,
        now_ms: int,
        *,
        bid_qty: Decimal | None = None,
        ask_qty: Decimal | None = None,
        volume: Decimal | None = None,
    ) -> None:
        """Hold the best bid and ask at a pushed quote, and the last price at ``last``.

        The book keeps its synthetic depth (``depth_levels`` of ``level_qty``
        each, a tick apart) behind the pushed touch; ``bid_qty`` / ``ask_qty``
        replace the size at the touch when the data has it. Prices off the tick
        grid are snapped outwards (bid down, ask up), so the quote never
        narrows; ``last`` snaps to the nearest tick.

        Args:
            bid: The best bid.
            ask: The best ask (above ``bid``; the caller checks).
            last: The last traded price, which is also the mark price.
            now_ms: When, for the candles.
            bid_qty: The size at the best bid, if known.
            ask_qty: The size at the best ask, if known.
            volume: The traded volume to report with it, if known.
        """
        tick = self.tick
        self._quote = _Quote(
            bid_ticks=max(1, int((bid / tick).to_integral_value(rounding=ROUND_FLOOR))),
            ask_ticks=max(2, int((ask / tick).to_integral_value(rounding=ROUND_CEILING))),
            bid_qty=bid_qty,
            ask_qty=ask_qty,
        )
        self._pinned = None
        self.price_ticks = max(1, self._to_ticks(last))
        self._pushed(now_ms, volume)

    def _pushed(self, now_ms: int, volume: Decimal | None) -> None:
        if volume is not None:
            self.volume = volume
        self.has_data = True
        self._book_step = -1
        self.update_id += 1
        self.candles.record_price(now_ms, self.price)

    def set_book(
        self,
        bids: Sequence[tuple[Decimal, Decimal]],
        asks: Sequence[tuple[Decimal, Decimal]],
        now_ms: int,
    ) -> None:
        """Replace the synthetic book with these levels until :meth:`set_price`.

        The pushed quantities come back at every step, as the synthetic ones do.
        The price becomes the best bid (or the best ask on a one-sided book).
        """
        pinned_bids = tuple(Level(p, q) for p, q in sorted(bids, key=lambda lv: -lv[0]))
        pinned_asks = tuple(Level(p, q) for p, q in sorted(asks, key=lambda lv: lv[0]))
        self._pinned = (pinned_bids, pinned_asks)
        self._quote = None
        top = pinned_bids[0].price if pinned_bids else pinned_asks[0].price if pinned_asks else None
        if top is not None:
            self.price_ticks = self._to_ticks(top)
        self._pushed(now_ms, None)

    # -- book -----------------------------------------------------------------

    def _refresh(self) -> None:
        if self._book_step == self.steps:
            return
        self._book_step = self.steps
        self.update_id += 1
        if self._pinned is not None:
            self._bids = list(self._pinned[0])
            self._asks = list(self._pinned[1])
            return
        spec = self.spec
        rng = random.Random(self._book_base ^ (self.steps * 2654435761))
        step_size = spec.rules.lot_size.step_size
        low = max(step_size, spec.rules.lot_size.min_qty)

        def qty() -> Decimal:
            factor = Decimal(1) + spec.qty_jitter * (
                Decimal(round(rng.random() * 2000) - 1000) / _THOUSAND
            )
            raw = spec.level_qty * factor
            if step_size > 0:
                raw = raw.quantize(step_size, rounding=ROUND_DOWN)
            return max(raw, low)

        bid, ask = self.best_bid, self.best_ask
        self._bids = [
            Level(bid - self.tick * i, qty())
            for i in range(spec.depth_levels)
            if bid - self.tick * i > 0
        ]
        self._asks = [Level(ask + self.tick * i, qty()) for i in range(spec.depth_levels)]
        quote = self._quote
        if quote is not None:
            if quote.bid_qty is not None and self._bids:
                self._bids[0] = Level(self._bids[0].price, quote.bid_qty)
            if quote.ask_qty is not None and self._asks:
                self._asks[0] = Level(self._asks[0].price, quote.ask_qty)

    def book(self) -> Book:
        """The book now, after what the user's orders took this step."""
        self._refresh()
        return Book(bids=tuple(self._bids), asks=tuple(self._asks), update_id=self.update_id)

    def consume(self, taker_side: OrderSide, price: Decimal, qty: Decimal) -> None:
        """Remove ``qty`` at ``price`` from the side a ``taker_side`` order hits."""
        self._refresh()
        levels = self._asks if taker_side is OrderSide.BUY else self._bids
        for i, level in enumerate(levels):
            if level.price == price:
                left = level.qty - qty
                if left > 0:
                    levels[i] = Level(price, left)
                else:
                    del levels[i]
                self.update_id += 1
                return


@attrs.define(eq=False)
class Market:
    """Every symbol's market, stepped together on one clock.

    Step ``k`` happens at ``start_ms + k * step_ms``; :meth:`due` and
    :meth:`step` let the ledger react after each one (stops, resting fills).
    """

    config: SimConfig
    start_ms: int
    symbols: dict[str, SymbolMarket] = attrs.field(init=False)
    step_ms: int = attrs.field(init=False)
    next_step_ms: int = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        step_s = max(self.config.tick_s, 0.001)
        self.step_ms = max(1, round(step_s * 1000))
        self.next_step_ms = self.start_ms + self.step_ms
        self.symbols = {
            spec.symbol: SymbolMarket(spec=spec, step_s=step_s, seed=self.config.seed)
            for spec in self.config.symbols
        }
        for market in self.symbols.values():
            market.candles.record_price(self.start_ms, market.price)

    def get(self, symbol: str) -> SymbolMarket | None:
        """The market of ``symbol``, if listed."""
        return self.symbols.get(symbol)

    def due(self, now_ms: int) -> int | None:
        """The time of the next step if it is due by ``now_ms``."""
        return self.next_step_ms if self.next_step_ms <= now_ms else None

    def step(self) -> int:
        """Take the next step on every symbol and return its time."""
        at = self.next_step_ms
        for market in self.symbols.values():
            market.step(at)
        self.next_step_ms += self.step_ms
        return at
