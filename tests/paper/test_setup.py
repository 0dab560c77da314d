"""Building a broker: balances, symbols, fees and leverage are checked up front."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trio_fapi.paper import PAPER_BASE_URL, FeeConfig, InvalidSetting, PaperBroker
from trio_fapi.protocol.errors import InvalidNumber
from trio_fapi.protocol.filters import ExchangeInfo
from trio_fapi.sim import default_config

from .conftest import T0, quote

D = Decimal


class TestArguments:
    """What the constructor refuses, and why."""

    @pytest.mark.parametrize(
        "balances",
        [{}, {"USDT": "1", "USDC": "1"}],
        ids=["none", "two-assets"],
    )
    def test_one_margin_asset(self, balances: dict[str, str]) -> None:
        with pytest.raises(InvalidSetting):
            PaperBroker(balances)

    def test_a_float_balance(self) -> None:
        with pytest.raises(InvalidNumber):
            PaperBroker({"USDT": 10000.0})

    def test_symbols_margined_in_another_asset(self) -> None:
        with pytest.raises(InvalidSetting):
            PaperBroker({"USDC": "1000"})

    @pytest.mark.parametrize("leverage", [0, 126, True], ids=["zero", "too-high", "bool"])
    def test_leverage(self, leverage: int) -> None:
        with pytest.raises(InvalidSetting):
            PaperBroker({"USDT": "1000"}, leverage=leverage)

    @pytest.mark.parametrize(
        ("fees", "error"),
        [
            ({"maker": 0.0002}, InvalidNumber),
            ({"makr": "0.0002"}, InvalidSetting),
            (FeeConfig(per_symbol={"DOGEUSDT": ("0", "0")}), InvalidSetting),
        ],
        ids=["float", "unknown-key", "unlisted-symbol"],
    )
    def test_fees(self, fees: object, error: type[Exception]) -> None:
        with pytest.raises(error):
            PaperBroker({"USDT": "1000"}, fee_config=fees)  # type: ignore[arg-type]


class TestFees:
    """Fee rates reach the fills, per symbol where given."""

    async def test_per_symbol_taker_rate(self) -> None:
        fees = FeeConfig(maker="0", taker="0.0004", per_symbol={"BTCUSDT": ("0", "0.001")})
        broker = PaperBroker({"USDT": "10000"}, fee_config=fees, epoch_ms=T0)
        quote(broker)
        broker.update_market_data("ETHUSDT", "3000.00", "3000.01", "3000.00", "1")
        await broker.place_order("BTCUSDT", "BUY", "MARKET", "0.1")
        await broker.place_order("ETHUSDT", "BUY", "MARKET", "1")
        (btc,) = await broker.get_fills("BTCUSDT")
        (eth,) = await broker.get_fills("ETHUSDT")
        assert btc.commission == D("6.00001")  # 6000.01 * 0.001
        assert eth.commission == D("1.200004")  # 3000.01 * 0.0004


class TestExchangeInfo:
    """Binance's exchangeInfo lists the symbols; start prices make them tradable at once."""

    async def test_parsed_exchange_info_with_a_start_price(self) -> None:
        rules = default_config().symbols[2].rules  # SOLUSDT
        info = ExchangeInfo(symbols={rules.symbol: rules})
        broker = PaperBroker(
            {"USDT": "1000"}, exchange_info=info, start_prices={"SOLUSDT": "150.0000"}
        )
        order = await broker.place_order("SOLUSDT", "BUY", "MARKET", "1")
        assert order.avg_price == D("150.0100")  # one tick above the start price
        assert [s.symbol for s in broker.config.symbols] == ["SOLUSDT"]


class TestExecutorConfig:
    """The executor config points at the broker (its keys are proven by the executor tests)."""

    def test_fields(self) -> None:
        broker = PaperBroker({"USDT": "1000"}, seed=9)
        config = broker.executor_config(poll_interval_s=0.25)
        assert (config.base_url, config.poll_interval_s, config.seed) == (PAPER_BASE_URL, 0.25, 9)
        assert config.credentials is not None


class TestLimits:
    """History reads take a bounded limit."""

    @pytest.mark.parametrize("limit", [0, 1001, True])
    async def test_history_limit(self, limit: int) -> None:
        broker = PaperBroker({"USDT": "1000"})
        with pytest.raises(InvalidSetting):
            await broker.get_order_history("BTCUSDT", limit=limit)
