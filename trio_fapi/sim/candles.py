"""Candles built from the price path, for klines and the 24 h ticker.

Only one-minute candles are stored (a bounded window); longer intervals are
aggregated from them on demand, and time before the first candle reads as a
flat market at the start price.
"""

from __future__ import annotations

import bisect
from collections import deque
from datetime import UTC, datetime
from decimal import Decimal

import attrs

from trio_fapi.protocol.numbers import fmt

__all__ = ["INTERVALS_MS", "Candles", "interval_open"]

_MINUTE = 60_000
_DAY = 1440 * _MINUTE

#: Fixed-length kline intervals; ``1M`` (calendar month) is handled apart.
INTERVALS_MS: dict[str, int] = {
    "1m": _MINUTE,
    "3m": 3 * _MINUTE,
    "5m": 5 * _MINUTE,
    "15m": 15 * _MINUTE,
    "30m": 30 * _MINUTE,
    "1h": 60 * _MINUTE,
    "2h": 120 * _MINUTE,
    "4h": 240 * _MINUTE,
    "6h": 360 * _MINUTE,
    "8h": 480 * _MINUTE,
    "12h": 720 * _MINUTE,
    "1d": _DAY,
    "3d": 3 * _DAY,
    "1w": 7 * _DAY,
    "1M": 31 * _DAY,
}
_MONDAY_OFFSET = 4 * _DAY  # 1970-01-01 was a Thursday; weeks open on Monday.


def interval_open(interval: str, t_ms: int) -> int:
    """The open time of the ``interval`` bucket holding ``t_ms``."""
    if interval == "1M":
        moment = datetime.fromtimestamp(t_ms / 1000, tz=UTC)
        return int(datetime(moment.year, moment.month, 1, tzinfo=UTC).timestamp() * 1000)
    size = INTERVALS_MS[interval]
    if interval == "1w":
        return t_ms - (t_ms - _MONDAY_OFFSET) % size
    return t_ms - t_ms % size


def _interval_close(interval: str, open_ms: int) -> int:
    if interval == "1M":
        moment = datetime.fromtimestamp(open_ms / 1000, tz=UTC)
        year, month = (
            (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
        )
        return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000) - 1
    return open_ms + INTERVALS_MS[interval] - 1


@attrs.define
class _Minute:
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = Decimal(0)
    quote: Decimal = Decimal(0)
    trades: int = 0


@attrs.define(eq=False)
class Candles:
    """One symbol's recent one-minute candles."""

    tick: Decimal
    start_price: Decimal
    max_minutes: int = 2000
    last_qty: Decimal = Decimal(0)
    _minutes: dict[int, _Minute] = attrs.field(factory=dict)
    _keys: deque[int] = attrs.field(factory=deque)

    def _minute(self, t_ms: int, price: Decimal) -> _Minute:
        key = t_ms - t_ms % _MINUTE
        found = self._minutes.get(key)
        if found is None:
            previous = self._minutes[self._keys[-1]].close if self._keys else price
            found = _Minute(
                open=previous, high=max(previous, price), low=min(previous, price), close=price
            )
            self._minutes[key] = found
            self._keys.append(key)
            while len(self._keys) > self.max_minutes:
                del self._minutes[self._keys.popleft()]
        return found

    def record_price(self, t_ms: int, price: Decimal) -> None:
        """Note the price at ``t_ms``."""
        m = self._minute(t_ms, price)
        m.close = price
        m.high = max(m.high, price)
        m.low = min(m.low, price)

    def record_trade(self, t_ms: int, price: Decimal, qty: Decimal) -> None:
        """Note a trade of the user's (the only volume the simulator knows)."""
        m = self._minute(t_ms, price)
        m.volume += qty
        m.quote += price * qty
        m.trades += 1
        self.last_qty = qty

    def _aggregate(self, open_ms: int, close_ms: int, before: Decimal) -> _Minute:
        keys = list(self._keys)
        lo = bisect.bisect_left(keys, open_ms - open_ms % _MINUTE)
        hi = bisect.bisect_right(keys, close_ms)
        inside = [self._minutes[k] for k in keys[lo:hi]]
        if not inside:
            return _Minute(open=before, high=before, low=before, close=before)
        return _Minute(
            open=inside[0].open,
            high=max(m.high for m in inside),
            low=min(m.low for m in inside),
            close=inside[-1].close,
            volume=sum((m.volume for m in inside), Decimal(0)),
            quote=sum((m.quote for m in inside), Decimal(0)),
            trades=sum(m.trades for m in inside),
        )

    def _close_before(self, t_ms: int) -> Decimal:
        keys = list(self._keys)
        i = bisect.bisect_left(keys, t_ms - t_ms % _MINUTE)
        if i == 0:
            return self._minutes[keys[0]].open if keys else self.start_price
        return self._minutes[keys[i - 1]].close

    def klines(
        self, interval: str, *, now_ms: int, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[list[object]]:
        """Rows as ``GET /fapi/v1/klines`` returns them, oldest first."""
        end = now_ms if end_ms is None else min(end_ms, now_ms)
        opens: list[int] = []
        if start_ms is not None:
            t = interval_open(interval, start_ms)
            while t <= end and len(opens) < limit:
                opens.append(t)
                t = _interval_close(interval, t) + 1
        else:
            t = interval_open(interval, end)
            while len(opens) < limit:
                opens.append(t)
                if t <= 0:
                    break
                t = interval_open(interval, t - 1)
            opens.reverse()
        rows: list[list[object]] = []
        for o in opens:
            close = _interval_close(interval, o)
            m = self._aggregate(o, close, self._close_before(o))
            rows.append(
                [
                    o,
                    fmt(m.open),
                    fmt(m.high),
                    fmt(m.low),
                    fmt(m.close),
                    fmt(m.volume),
                    close,
                    fmt(m.quote),
                    m.trades,
                    "0",
                    "0",
                    "0",
                ]
            )
        return rows

    def day_stats(self, now_ms: int) -> dict[str, object]:
        """The rolling 24 h numbers of ``GET /fapi/v1/ticker/24hr`` (symbol not included)."""
        open_ms = now_ms - _DAY
        m = self._aggregate(open_ms, now_ms, self._close_before(open_ms))
        o, h, low, c, volume, quote = m.open, m.high, m.low, m.close, m.volume, m.quote
        change = c - o
        percent = (change / o * 100).quantize(Decimal("0.001")) if o else Decimal(0)
        weighted = (quote / volume).quantize(self.tick) if volume else c
        return {
            "priceChange": fmt(change),
            "priceChangePercent": fmt(percent),
            "weightedAvgPrice": fmt(weighted),
            "lastPrice": fmt(c),
            "lastQty": fmt(self.last_qty),
            "openPrice": fmt(o),
            "highPrice": fmt(h),
            "lowPrice": fmt(low),
            "volume": fmt(volume),
            "quoteVolume": fmt(quote),
            "openTime": open_ms,
            "closeTime": now_ms,
            "firstId": 0,
            "lastId": 0,
            "count": m.trades,
        }
