"""Market data from CSV files: Binance's own download formats, or a plain quote table.

Three layouts are recognised from the header line:

- **Book tickers** as Binance publishes them for download
  (``update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time``):
  each row becomes a quote whose last price is the mid, timed by ``event_time``.
- **Klines** as Binance publishes them
  (``open_time,open,high,low,close,volume,close_time,...``, with or without
  the header): each candle becomes four prices, open, then low and high (high
  first on a falling candle), then close, spread over the candle's time, so
  resting orders inside its range fill as they would have. The candle's volume
  rides on the close.
- **Quotes** in the paper broker's own terms (``time,bid,ask`` plus any of
  ``symbol,last,volume,bid_qty,ask_qty``), one :meth:`PaperBroker.update_market_data`
  per row; ``last`` defaults to the mid.

The download formats carry no symbol column, so the caller names the symbol.
Numbers are parsed exactly (no float on the way), and times are epoch
milliseconds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import final

import attrs

from trio_fapi.protocol.numbers import to_decimal

from .errors import InvalidMarketData

__all__ = ["PriceTick", "QuoteTick", "ReplayTick", "parse_market_csv", "read_market_csv"]

_TWO = Decimal(2)
_KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
)


@final
@attrs.frozen(kw_only=True)
class QuoteTick:
    """A best bid and ask (with a last price) at one time."""

    time: int
    symbol: str
    bid: Decimal
    ask: Decimal
    last: Decimal
    volume: Decimal = Decimal(0)
    bid_qty: Decimal | None = None
    ask_qty: Decimal | None = None


@final
@attrs.frozen(kw_only=True)
class PriceTick:
    """A last price alone at one time (the book recentres on it)."""

    time: int
    symbol: str
    price: Decimal
    volume: Decimal | None = None


#: One replayed market-data point.
ReplayTick = QuoteTick | PriceTick


def _number(row: dict[str, str], key: str, line: int) -> Decimal:
    try:
        return to_decimal(row[key].strip(), field=f"line {line} {key}", positive=False)
    except KeyError:
        raise InvalidMarketData(symbol="?", reason=f"line {line}: no {key!r} column") from None


def _optional(row: dict[str, str], key: str, line: int) -> Decimal | None:
    return _number(row, key, line) if row.get(key, "").strip() else None


def _time(row: dict[str, str], key: str, line: int) -> int:
    text = row.get(key, "").strip()
    if not text.isdigit():
        raise InvalidMarketData(symbol="?", reason=f"line {line}: {key} {text!r} is not epoch ms")
    return int(text)


def _symbol(row: dict[str, str], default: str | None, line: int) -> str:
    name = row.get("symbol", "").strip() or default
    if not name:
        raise InvalidMarketData(symbol="?", reason=f"line {line}: no symbol (pass symbol=...)")
    return name


def _book_tickers(rows: Iterable[dict[str, str]], symbol: str | None) -> list[ReplayTick]:
    ticks: list[ReplayTick] = []
    for line, row in enumerate(rows, start=2):
        bid = _number(row, "best_bid_price", line)
        ask = _number(row, "best_ask_price", line)
        ticks.append(
            QuoteTick(
                time=_time(row, "event_time" if "event_time" in row else "transaction_time", line),
                symbol=_symbol(row, symbol, line),
                bid=bid,
                ask=ask,
                last=(bid + ask) / _TWO,
                bid_qty=_number(row, "best_bid_qty", line),
                ask_qty=_number(row, "best_ask_qty", line),
            )
        )
    return ticks


def _quotes(rows: Iterable[dict[str, str]], symbol: str | None) -> list[ReplayTick]:
    ticks: list[ReplayTick] = []
    for line, row in enumerate(rows, start=2):
        bid = _number(row, "bid", line)
        ask = _number(row, "ask", line)
        ticks.append(
            QuoteTick(
                time=_time(row, "time", line),
                symbol=_symbol(row, symbol, line),
                bid=bid,
                ask=ask,
                last=_optional(row, "last", line) or (bid + ask) / _TWO,
                volume=_optional(row, "volume", line) or Decimal(0),
                bid_qty=_optional(row, "bid_qty", line),
                ask_qty=_optional(row, "ask_qty", line),
            )
        )
    return ticks


def _klines(rows: Iterable[dict[str, str]], symbol: str | None) -> list[ReplayTick]:
    ticks: list[ReplayTick] = []
    for line, row in enumerate(rows, start=2):
        name = _symbol(row, symbol, line)
        start, end = _time(row, "open_time", line), _time(row, "close_time", line)
        o, h, lo, c = (_number(row, k, line) for k in ("open", "high", "low", "close"))
        middle = (lo, h) if c >= o else (h, lo)
        span = max(0, end - start)
        ticks.append(PriceTick(time=start, symbol=name, price=o))
        ticks.append(PriceTick(time=start + span // 3, symbol=name, price=middle[0]))
        ticks.append(PriceTick(time=start + 2 * span // 3, symbol=name, price=middle[1]))
        ticks.append(PriceTick(time=end, symbol=name, price=c, volume=_number(row, "volume", line)))
    return ticks


def parse_market_csv(text: str, *, symbol: str | None = None) -> list[ReplayTick]:
    """Parse CSV market data (see the module docstring for the layouts).

    Args:
        text: The CSV content.
        symbol: The symbol, for layouts without a ``symbol`` column.

    Returns:
        The ticks in time order (rows with equal times keep their order).

    Raises:
        InvalidMarketData: An unrecognised header, a missing column, or a bad time.
        InvalidNumber: A number that is not exact fixed-point.
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    first = [cell.strip() for cell in next(csv.reader([lines[0]]))]
    headerless_klines = len(first) >= len(_KLINE_COLUMNS) and first[0].isdigit()
    if headerless_klines:
        names: Sequence[str] = [*_KLINE_COLUMNS, *(f"extra{i}" for i in range(len(first)))]
        body = lines
    else:
        names = [name.lower() for name in first]
        body = lines[1:]
    rows = [
        {names[i]: cell for i, cell in enumerate(cells) if i < len(names)}
        for cells in csv.reader(io.StringIO("\n".join(body)))
    ]
    if headerless_klines or "open_time" in names:
        ticks = _klines(rows, symbol)
    elif "best_bid_price" in names:
        ticks = _book_tickers(rows, symbol)
    elif "bid" in names and "ask" in names:
        ticks = _quotes(rows, symbol)
    else:
        raise InvalidMarketData(symbol=symbol or "?", reason=f"unrecognised CSV header {first}")
    return sorted(ticks, key=lambda t: t.time)


def read_market_csv(path: str | Path, *, symbol: str | None = None) -> list[ReplayTick]:
    """Read and parse a CSV file of market data (see :func:`parse_market_csv`)."""
    return parse_market_csv(Path(path).read_text(encoding="utf-8"), symbol=symbol)
