"""The config's symbols and the synthetic market: seeded, deterministic, on the grid."""

from __future__ import annotations

from decimal import Decimal

from trio_fapi.protocol.enums import OrderSide
from trio_fapi.protocol.filters import DEFAULT_RATE_LIMITS
from trio_fapi.sim import default_config
from trio_fapi.sim.market import Level, Market

from .conftest import T0, still_config


def _path(seed: int, steps: int, symbol: str = "BTCUSDT") -> list[Decimal]:
    market = Market(default_config(seed), T0)
    prices = []
    for _ in range(steps):
        market.step()
        prices.append(market.symbols[symbol].price)
    return prices


class TestDefaultConfig:
    """default_config lists the three symbols with section 7.4's filters."""

    def test_symbols_and_filters(self) -> None:
        cfg = default_config()
        assert [s.symbol for s in cfg.symbols] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
        btc = cfg.spec("BTCUSDT")
        assert btc is not None
        assert btc.rules.price_filter.tick_size == Decimal("0.10")
        assert btc.rules.lot_size.step_size == Decimal("0.001")
        assert btc.rules.lot_size.min_qty == Decimal("0.001")
        assert btc.rules.min_notional == Decimal(100)
        assert btc.rules.percent_price is not None
        assert btc.rules.percent_price.multiplier_up == Decimal("1.0500")
        eth = cfg.spec("ETHUSDT")
        assert eth is not None
        assert eth.rules.price_filter.tick_size == Decimal("0.01")
        assert eth.rules.min_notional == Decimal(20)

    def test_account_defaults(self) -> None:
        cfg = default_config()
        assert (cfg.api_key, cfg.api_secret, cfg.seed) == ("sim-key", "sim-secret", 0)
        assert cfg.initial_balance == Decimal(100000)
        assert (cfg.maker_fee, cfg.taker_fee) == (Decimal("0.0002"), Decimal("0.0005"))
        assert cfg.rate_limits == DEFAULT_RATE_LIMITS
        assert cfg.default_leverage == 20
        assert cfg.tick_s == 0.1

    def test_secret_stays_out_of_repr(self) -> None:
        assert "sim-secret" not in repr(default_config())

    def test_unknown_symbol_has_no_spec(self) -> None:
        assert default_config().spec("DOGEUSDT") is None


class TestPricePath:
    """The path depends only on the seed and the number of steps."""

    def test_same_seed_same_path(self) -> None:
        assert _path(7, 200) == _path(7, 200)

    def test_different_seed_different_path(self) -> None:
        assert _path(1, 200) != _path(2, 200)

    def test_prices_stay_on_the_tick_grid(self) -> None:
        for price in _path(3, 300):
            assert price == price.quantize(Decimal("0.10"))
            assert price > 0

    def test_still_market_does_not_move(self) -> None:
        market = Market(still_config(), T0)
        for _ in range(50):
            market.step()
        assert market.symbols["BTCUSDT"].price == Decimal("60000.00")

    def test_steps_fall_due_on_the_clock(self) -> None:
        market = Market(still_config(), T0)
        assert market.due(T0 + 99) is None
        assert market.due(T0 + 100) == T0 + 100
        assert market.step() == T0 + 100
        assert market.due(T0 + 150) is None


class TestBook:
    """The book sits around the price, one tick wide, and remembers what was taken."""

    def test_levels_around_the_price(self) -> None:
        market = Market(still_config(), T0).symbols["BTCUSDT"]
        book = market.book()
        assert book.bids[0].price == Decimal("60000.00")
        assert book.asks[0].price == Decimal("60000.10")
        assert len(book.bids) == len(book.asks) == 20
        assert all(lv.qty == Decimal("2.000") for lv in book.bids + book.asks)
        assert [lv.price for lv in book.asks[:3]] == [
            Decimal("60000.10"),
            Decimal("60000.20"),
            Decimal("60000.30"),
        ]

    def test_jittered_quantities_are_seeded_and_on_the_step_grid(self) -> None:
        a = Market(default_config(5), T0).symbols["ETHUSDT"].book()
        b = Market(default_config(5), T0).symbols["ETHUSDT"].book()
        assert a.bids == b.bids
        assert len({lv.qty for lv in a.bids}) > 1
        assert all(lv.qty == lv.qty.quantize(Decimal("0.001")) for lv in a.asks)

    def test_consumed_liquidity_stays_gone_until_the_next_step(self) -> None:
        market = Market(still_config(), T0)
        btc = market.symbols["BTCUSDT"]
        btc.consume(OrderSide.BUY, Decimal("60000.10"), Decimal("0.500"))
        assert btc.book().asks[0].qty == Decimal("1.500")
        btc.consume(OrderSide.BUY, Decimal("60000.10"), Decimal("1.500"))
        assert btc.book().asks[0].price == Decimal("60000.20")
        market.step()
        assert btc.book().asks[0] == Level(Decimal("60000.10"), Decimal("2.000"))

    def test_set_price_moves_the_book(self) -> None:
        btc = Market(still_config(), T0).symbols["BTCUSDT"]
        btc.set_price(Decimal("59000.05"), T0)
        assert btc.price == Decimal("59000.00")  # half a tick rounds to even
        assert btc.best_ask == btc.best_bid + Decimal("0.10")

    def test_set_book_pins_levels(self) -> None:
        market = Market(still_config(), T0)
        btc = market.symbols["BTCUSDT"]
        btc.set_book(
            [(Decimal("100.0"), Decimal(1))],
            [(Decimal("101.0"), Decimal(2)), (Decimal("100.5"), Decimal(1))],
            T0,
        )
        book = btc.book()
        assert [lv.price for lv in book.asks] == [Decimal("100.5"), Decimal("101.0")]
        btc.consume(OrderSide.BUY, Decimal("100.5"), Decimal(1))
        market.step()
        assert btc.book().asks[0].qty == Decimal(1)


class TestCandles:
    """Klines and the 24 h ticker come from the path."""

    def test_klines_cover_the_requested_count(self) -> None:
        market = Market(default_config(1), T0)
        for _ in range(1200):  # two minutes of 0.1 s steps
            market.step()
        rows = market.symbols["BTCUSDT"].candles.klines(
            "1m", now_ms=T0 + 120_000, start_ms=None, end_ms=None, limit=3
        )
        assert len(rows) == 3
        opens = [int(str(row[0])) for row in rows]
        assert opens == sorted(opens)
        for row in rows:
            assert Decimal(str(row[3])) <= Decimal(str(row[1])) <= Decimal(str(row[2]))

    def test_day_stats_after_a_move(self) -> None:
        btc = Market(still_config(), T0).symbols["BTCUSDT"]
        btc.set_price(Decimal("61200.00"), T0 + 1000)
        stats = btc.candles.day_stats(T0 + 2000)
        assert stats["openPrice"] == "60000.00"
        assert stats["lastPrice"] == "61200.00"
        assert stats["priceChange"] == "1200.00"
        assert stats["priceChangePercent"] == "2.000"
