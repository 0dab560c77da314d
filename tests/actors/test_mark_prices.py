"""MarkPrices: a fresh mark for the PERCENT_PRICE check, fetched only when needed."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest
import trio
import trio.testing

from trio_fapi.actors.mark_prices import MarkPrices
from trio_fapi.protocol.errors import EngineError, RequestTimedOut
from trio_fapi.protocol.ids import Symbol

BTC, ETH = Symbol("BTCUSDT"), Symbol("ETHUSDT")
MAX_AGE_S = 5.0


class FakePremiumIndex:
    """Answers ``GET /fapi/v1/premiumIndex`` from a script; records every call."""

    def __init__(self, *answers: object) -> None:
        self._answers = list(answers)
        self.calls: list[dict[str, str]] = []

    async def __call__(self, params: Mapping[str, str]) -> object:
        self.calls.append(dict(params))
        await trio.sleep(0.01)  # a round trip
        answer = self._answers.pop(0)
        if isinstance(answer, EngineError):
            raise answer
        return answer


def row(symbol: str, mark: object) -> dict[str, object]:
    return {"symbol": symbol, "markPrice": mark, "indexPrice": "1"}


TIMEOUT = RequestTimedOut(after_s=10.0, path="/fapi/v1/premiumIndex")


class TestCache:
    async def test_load_all_fills_every_symbol_with_one_call(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        fetch = FakePremiumIndex([row("BTCUSDT", "60000.10"), row("ETHUSDT", "3000.00")])
        marks = MarkPrices(fetch, max_age_s=MAX_AGE_S)
        await marks.load_all()
        assert fetch.calls == [{}]
        assert marks.cached(BTC) == Decimal("60000.10")
        assert await marks.get(ETH) == Decimal("3000.00")
        assert fetch.calls == [{}]  # fresh: no second call

    async def test_a_fresh_mark_is_not_fetched_again(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        fetch = FakePremiumIndex(row("BTCUSDT", "60000"))
        marks = MarkPrices(fetch, max_age_s=MAX_AGE_S)
        assert await marks.get(BTC) == Decimal(60000)
        await trio.sleep(MAX_AGE_S - 1)
        assert await marks.get(BTC) == Decimal(60000)
        assert fetch.calls == [{"symbol": "BTCUSDT"}]

    async def test_an_old_mark_is_fetched_again_for_its_symbol(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        fetch = FakePremiumIndex(
            [row("BTCUSDT", "60000"), row("ETHUSDT", "3000")], row("BTCUSDT", "61000")
        )
        marks = MarkPrices(fetch, max_age_s=MAX_AGE_S)
        await marks.load_all()
        await trio.sleep(MAX_AGE_S + 1)
        assert marks.cached(BTC) is None
        assert await marks.get(BTC) == Decimal(61000)
        assert fetch.calls == [{}, {"symbol": "BTCUSDT"}]
        assert marks.cached(ETH) is None  # ETH was not refreshed and is stale too

    async def test_unknown_symbol_before_any_load(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        marks = MarkPrices(FakePremiumIndex(), max_age_s=MAX_AGE_S)
        assert marks.cached(BTC) is None


class TestBadRows:
    @pytest.mark.parametrize(
        "bad",
        [
            pytest.param("not a row", id="not-a-mapping"),
            pytest.param({"markPrice": "60000"}, id="no-symbol"),
            pytest.param({"symbol": 42, "markPrice": "60000"}, id="symbol-not-text"),
            pytest.param({"symbol": "BTCUSDT"}, id="no-mark"),
            pytest.param(row("BTCUSDT", None), id="null-mark"),
            pytest.param(row("BTCUSDT", "abc"), id="not-a-number"),
            pytest.param(row("BTCUSDT", "0"), id="zero"),
            pytest.param(row("BTCUSDT", "-1"), id="negative"),
            pytest.param(row("BTCUSDT", 60000.5), id="json-float"),
            pytest.param(row("BTCUSDT", "NaN"), id="nan"),
            pytest.param(row("BTCUSDT", "1e5"), id="exponent"),
        ],
    )
    async def test_a_bad_row_is_skipped_the_rest_kept(
        self, bad: object, autojump_clock: trio.testing.MockClock
    ) -> None:
        fetch = FakePremiumIndex([bad, row("ETHUSDT", "3000")])
        marks = MarkPrices(fetch, max_age_s=MAX_AGE_S)
        await marks.load_all()
        assert marks.cached(BTC) is None
        assert marks.cached(ETH) == Decimal(3000)

    async def test_a_bad_row_does_not_replace_a_good_mark(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        fetch = FakePremiumIndex(row("BTCUSDT", "60000"), row("BTCUSDT", "garbage"))
        marks = MarkPrices(fetch, max_age_s=MAX_AGE_S)
        assert await marks.get(BTC) == Decimal(60000)
        await trio.sleep(MAX_AGE_S + 1)
        assert await marks.get(BTC) is None  # stale and not replaced: no mark

    async def test_an_answer_about_another_symbol_gives_none(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        fetch = FakePremiumIndex(row("ETHUSDT", "3000"))
        marks = MarkPrices(fetch, max_age_s=MAX_AGE_S)
        assert await marks.get(BTC) is None


class TestFetchFails:
    async def test_a_failed_fetch_is_none_not_an_error(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        marks = MarkPrices(FakePremiumIndex(TIMEOUT), max_age_s=MAX_AGE_S)
        assert await marks.get(BTC) is None

    async def test_a_failed_refresh_never_serves_the_stale_mark(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        fetch = FakePremiumIndex(row("BTCUSDT", "60000"), TIMEOUT, row("BTCUSDT", "62000"))
        marks = MarkPrices(fetch, max_age_s=MAX_AGE_S)
        assert await marks.get(BTC) == Decimal(60000)
        await trio.sleep(MAX_AGE_S + 1)
        assert await marks.get(BTC) is None
        assert await marks.get(BTC) == Decimal(62000)  # the next need tries again
        assert len(fetch.calls) == 3

    async def test_load_all_reports_its_failure(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The executor logs it and falls back to per-symbol fetches."""
        marks = MarkPrices(FakePremiumIndex(TIMEOUT), max_age_s=MAX_AGE_S)
        with pytest.raises(RequestTimedOut):
            await marks.load_all()
        assert marks.cached(BTC) is None
