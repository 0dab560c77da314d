"""Mark prices for the checks that need one before any order I/O.

PERCENT_PRICE bounds a LIMIT price to a band around the mark price (and a
market order's MIN_NOTIONAL is priced at the mark). Refusing locally needs a
mark that is fresh: all marks are loaded with one call at start-up (weight 10)
and a symbol's mark is fetched again (weight 1) when it is older than the
configured age at the moment an order needs it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal

import trio

from trio_fapi.protocol.errors import EngineError
from trio_fapi.protocol.ids import Symbol
from trio_fapi.protocol.numbers import to_decimal

__all__ = ["MarkPrices"]

#: Fetches ``GET /fapi/v1/premiumIndex`` with these parameters; the JSON body.
Fetch = Callable[[Mapping[str, str]], Awaitable[object]]


class MarkPrices:
    """A cache of mark prices, owned by the executor."""

    def __init__(self, fetch: Fetch, *, max_age_s: float) -> None:
        self._fetch = fetch
        self._max_age_s = max_age_s
        self._marks: dict[str, tuple[Decimal, float]] = {}
        self._fetching: dict[str, trio.Lock] = defaultdict(trio.Lock)

    async def load_all(self) -> None:
        """Load every symbol's mark (one request)."""
        self._store(await self._fetch({}))

    def cached(self, symbol: Symbol) -> Decimal | None:
        """The mark if it is fresh enough, else ``None``."""
        entry = self._marks.get(symbol.value)
        if entry is None or trio.current_time() > entry[1] + self._max_age_s:
            return None
        return entry[0]

    async def get(self, symbol: Symbol) -> Decimal | None:
        """A fresh mark, fetched if needed; ``None`` when the exchange gives none.

        A failed fetch is not an order refusal: the order then goes without the
        local band check, and the exchange applies its own (-4016).
        """
        mark = self.cached(symbol)
        if mark is not None:
            return mark
        # One fetch per symbol at a time: concurrent orders wait for it and share it.
        async with self._fetching[symbol.value]:
            mark = self.cached(symbol)
            if mark is not None:
                return mark
            try:
                self._store(await self._fetch({"symbol": symbol.value}))
            except EngineError:
                return None
        return self.cached(symbol)

    def _store(self, payload: object) -> None:
        rows = payload if isinstance(payload, list) else [payload]
        now = trio.current_time()
        for row in rows:
            if not isinstance(row, Mapping):
                continue
            symbol, mark = row.get("symbol"), row.get("markPrice")
            if not isinstance(symbol, str) or mark is None:
                continue
            try:
                value = to_decimal(mark, field="markPrice")
            except EngineError:
                continue
            if value > 0:
                self._marks[symbol] = (value, now)
