"""Market-data sources: CSV replays (Binance's download layouts), the random walk, funding.

The files under ``data/`` are small synthetic samples written in the layouts
Binance publishes for download (klines, book tickers) and in the broker's own
quote layout; their prices are made up, their shapes are the real ones.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing

from trio_fapi.paper import (
    FundingFeed,
    InvalidMarketData,
    PaperBroker,
    PaperFill,
    PriceTick,
    QuoteTick,
    RandomWalkFeed,
    ReplayFeed,
    open_paper_venue,
    parse_market_csv,
    read_market_csv,
)
from trio_fapi.protocol.errors import InvalidNumber

from .conftest import DATA, T0, new_broker, quote

D = Decimal
KLINES = DATA / "BTCUSDT-1m-klines.csv"
BOOK_TICKERS = DATA / "BTCUSDT-bookTicker.csv"
QUOTES = DATA / "quotes.csv"
OPEN_TIME = 1_704_067_200_000


class TestCsv:
    """Each layout is recognised from its header and parsed exactly."""

    def test_klines_become_open_low_high_close(self) -> None:
        ticks = read_market_csv(KLINES, symbol="BTCUSDT")
        assert len(ticks) == 40
        first = ticks[:4]
        assert all(isinstance(t, PriceTick) for t in first)
        assert [(t.time - OPEN_TIME, t.price) for t in first if isinstance(t, PriceTick)] == [
            (0, D("42000.0")),
            (19999, D("41987.6")),  # a rising candle visits its low first
            (39999, D("42030.7")),
            (59999, D("42028.7")),
        ]
        last_of_first = first[3]
        assert isinstance(last_of_first, PriceTick)
        assert last_of_first.volume == D("118.582")

    def test_a_falling_candle_visits_its_high_first(self) -> None:
        text = "open_time,open,high,low,close,volume,close_time\n0,10.0,10.5,9.0,9.5,1,59999\n"
        prices = [t.price for t in parse_market_csv(text, symbol="X") if isinstance(t, PriceTick)]
        assert prices == [D("10.0"), D("10.5"), D("9.0"), D("9.5")]

    def test_klines_without_a_header(self) -> None:
        with_header = KLINES.read_text()
        headerless = with_header.split("\n", 1)[1]
        assert parse_market_csv(headerless, symbol="BTCUSDT") == parse_market_csv(
            with_header, symbol="BTCUSDT"
        )

    def test_book_tickers(self) -> None:
        ticks = read_market_csv(BOOK_TICKERS, symbol="BTCUSDT")
        assert len(ticks) == 20
        first = ticks[0]
        assert isinstance(first, QuoteTick)
        assert (first.bid, first.ask, first.last) == (D("41998.8"), D("41998.9"), D("41998.85"))
        assert (first.bid_qty, first.ask_qty, first.time) == (
            D("8.555"),
            D("0.206"),
            OPEN_TIME + 12,
        )

    def test_own_quotes_carry_their_symbols(self) -> None:
        ticks = read_market_csv(QUOTES)
        assert [t.symbol for t in ticks] == ["BTCUSDT", "ETHUSDT", "BTCUSDT", "BTCUSDT", "ETHUSDT"]

    @pytest.mark.parametrize(
        ("text", "error"),
        [
            ("a,b,c\n1,2,3\n", InvalidMarketData),
            ("time,bid,ask\n1,1e3,2\n", InvalidNumber),
            ("time,bid,ask\nsoon,1,2\n", InvalidMarketData),
            ("time,bid,ask\n1,1,2\n", InvalidMarketData),
        ],
        ids=["header", "exponent", "time", "no-symbol"],
    )
    def test_refused(self, text: str, error: type[Exception]) -> None:
        with pytest.raises(error):
            parse_market_csv(text)


class TestReplay:
    """A replay pushes each tick at its recorded time (scaled by speed) on trio's clock."""

    async def test_a_resting_order_fills_at_the_candle_low(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        broker = new_broker()
        fills: list[PaperFill] = []
        broker.register_fill_callback(fills.append)
        await broker.place_order("BTCUSDT", "BUY", "LIMIT", "0.1", "41990.0")
        feed = ReplayFeed.from_csv(KLINES, symbol="BTCUSDT", speed=60)
        async with trio.open_nursery() as nursery:
            await nursery.start(feed.run, broker)
        assert trio.current_time() == pytest.approx(599.999 / 60)
        (fill,) = fills
        assert (fill.price, fill.maker) == (D("41990.0"), True)
        assert fill.time == T0 + 333  # the low, 19.999 s into the candle, replayed 60x
        last = feed.ticks[-1]
        assert isinstance(last, PriceTick)
        assert broker.get_market_data("BTCUSDT").last == last.price == D("42015.1")

    async def test_unpaced_book_ticker_replay(self, autojump_clock: trio.testing.MockClock) -> None:
        broker = new_broker()
        feed = ReplayFeed.from_csv(BOOK_TICKERS, symbol="BTCUSDT", speed=None)
        await feed.run(broker)
        assert trio.current_time() == 0
        last = feed.ticks[-1]
        assert isinstance(last, QuoteTick)
        data = broker.get_market_data("BTCUSDT")
        assert (data.bid, data.ask, data.bid_qty) == (last.bid, last.ask, last.bid_qty)


class TestRandomWalk:
    """The simulated exchange's seeded walk: same seed, same path; pushed quotes hold."""

    async def walk(self, seed: int, seconds: float) -> list[Decimal]:
        broker = PaperBroker({"USDT": "10000"}, seed=seed, epoch_ms=T0)
        prices: list[Decimal] = []
        async with open_paper_venue(broker, feeds=[RandomWalkFeed(volatility="0.001")]):
            for _ in range(int(seconds)):
                await trio.sleep(1)
                prices.append(broker.get_market_data("BTCUSDT").last)
        return prices

    async def test_seeded_and_moving(self, autojump_clock: trio.testing.MockClock) -> None:
        first, again, other = (
            await self.walk(3, 20),
            await self.walk(3, 20),
            await self.walk(4, 20),
        )
        assert first == again
        assert first != other
        assert len(set(first)) > 10

    async def test_no_symbols_moves_none(self, autojump_clock: trio.testing.MockClock) -> None:
        broker = new_broker()
        start = broker.get_market_data("BTCUSDT").last
        async with open_paper_venue(broker, feeds=[RandomWalkFeed(volatility="0.001", symbols=[])]):
            await trio.sleep(30)
            assert broker.get_market_data("BTCUSDT").last == start

    async def test_a_pushed_quote_holds_the_price(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        broker = new_broker()
        quote(broker)
        async with open_paper_venue(broker, feeds=[RandomWalkFeed(symbols=["BTCUSDT"])]):
            await trio.sleep(30)
            assert broker.get_market_data("BTCUSDT").bid == D("60000.0")


class TestFunding:
    """The funding feed settles every interval."""

    async def test_two_settlements(
        self, broker: PaperBroker, autojump_clock: trio.testing.MockClock
    ) -> None:
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "1")
        feed = FundingFeed(rates={"BTCUSDT": "0.0001"}, interval_s=8 * 3600)
        async with open_paper_venue(broker, feeds=[feed]):
            await trio.sleep(16 * 3600 + 1)
        assert broker.calculate_pnl("BTCUSDT").funding == D("-12.0")  # 2 x 1 x 60000 x 0.0001
