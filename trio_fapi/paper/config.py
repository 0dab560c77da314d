"""Turning the paper broker's arguments into the simulated exchange's config.

The paper broker trades on the simulated exchange, so its symbols are
:class:`~trio_fapi.sim.config.SymbolSpec` values. They can come from the
default listing, from Binance's own ``exchangeInfo`` (parsed, or as the raw
JSON), or be given directly. A paper market is *still* by default: its price
moves only when market data is pushed or a feed moves it, so fills can be
computed by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs

from trio_fapi.protocol.filters import ExchangeInfo, SymbolRules
from trio_fapi.protocol.numbers import to_decimal
from trio_fapi.sim.config import SimConfig, SymbolSpec, default_config

from .errors import InvalidSetting
from .fees import FeeConfig

__all__ = ["MAX_LEVERAGE", "ExchangeInfoInput", "PaperSetup", "int_in", "paper_setup"]

#: What ``PaperBroker(exchange_info=...)`` accepts.
ExchangeInfoInput = ExchangeInfo | Mapping[str, object] | Sequence[SymbolSpec] | SimConfig | None

#: How often (trio seconds) a paper market steps: the synthetic depth behind a
#: pushed quote refills, resting orders are checked, and a random walk moves.
PAPER_STEP_S = 1.0
#: Binance's highest leverage (-4028 above it).
MAX_LEVERAGE = 125
_DEPTH_LOTS = Decimal(1000)


def int_in(value: object, low: int, high: int) -> bool:
    """Whether ``value`` is an ``int`` (not a ``bool``) in ``low..high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@attrs.frozen(kw_only=True)
class PaperSetup:
    """The exchange config, plus the symbols that have no price until data arrives."""

    config: SimConfig
    awaiting_data: frozenset[str]


def _balance(initial_balances: Mapping[str, object]) -> tuple[str, Decimal]:
    if not isinstance(initial_balances, Mapping) or len(initial_balances) != 1:
        raise InvalidSetting(
            name="initial_balances",
            reason="give exactly one margin asset, e.g. {'USDT': '10000'} (single-asset mode)",
        )
    ((asset, amount),) = initial_balances.items()
    return str(asset), to_decimal(amount, field=f"initial_balances[{asset!r}]")


def _spec_from_rules(rules: SymbolRules, start: Decimal | None) -> SymbolSpec:
    lot = rules.lot_size
    tick = rules.price_filter.tick_size
    placeholder = rules.price_filter.min_price if rules.price_filter.min_price > 0 else tick
    return SymbolSpec(
        rules=rules,
        start_price=start if start is not None else placeholder,
        volatility=Decimal(0),
        qty_jitter=Decimal(0),
        level_qty=max(lot.min_qty, lot.step_size) * _DEPTH_LOTS,
    )


def _base_config(
    exchange_info: ExchangeInfoInput, start_prices: Mapping[str, Decimal], seed: int
) -> tuple[SimConfig, frozenset[str]]:
    """The exchange config before balances, leverage and fees; symbols without a price."""
    if isinstance(exchange_info, SimConfig):
        return exchange_info, frozenset()
    if exchange_info is None:
        specs = default_config(seed).still_market().symbols
        return SimConfig(symbols=specs, seed=seed, tick_s=PAPER_STEP_S), frozenset()
    if isinstance(exchange_info, Mapping):
        exchange_info = ExchangeInfo.from_wire(exchange_info)
    if isinstance(exchange_info, ExchangeInfo):
        specs = tuple(
            _spec_from_rules(rules, start_prices.get(symbol.value))
            for symbol, rules in exchange_info.symbols.items()
        )
        waiting = frozenset(s.symbol for s in specs if s.symbol not in start_prices)
        config = SimConfig(
            symbols=specs, seed=seed, tick_s=PAPER_STEP_S, rate_limits=exchange_info.rate_limits
        )
        return config, waiting
    return SimConfig(symbols=tuple(exchange_info), seed=seed, tick_s=PAPER_STEP_S), frozenset()


def paper_setup(
    initial_balances: Mapping[str, object],
    exchange_info: ExchangeInfoInput,
    fee_config: FeeConfig | Mapping[str, object] | None,
    *,
    seed: int,
    leverage: int,
    start_prices: Mapping[str, object] | None,
) -> PaperSetup:
    """Build the simulated exchange's config for a paper broker.

    Raises:
        InvalidSetting: Not exactly one balance, no symbols, a symbol whose
            margin asset is not the balance's asset, or leverage outside 1..125.
        InvalidNumber: A float (or otherwise inexact) balance, price or rate.
    """
    asset, balance = _balance(initial_balances)
    if not int_in(leverage, 1, MAX_LEVERAGE):
        raise InvalidSetting(
            name="leverage", reason=f"must be an int in 1..{MAX_LEVERAGE}, got {leverage!r}"
        )
    starts = {
        symbol: to_decimal(price, field=f"start_prices[{symbol!r}]")
        for symbol, price in (start_prices or {}).items()
    }
    base, waiting = _base_config(exchange_info, starts, seed)
    if not base.symbols:
        raise InvalidSetting(name="exchange_info", reason="lists no symbols")
    foreign = sorted(s.symbol for s in base.symbols if s.rules.margin_asset not in (asset, ""))
    if foreign:
        raise InvalidSetting(
            name="initial_balances", reason=f"{foreign} are not margined in {asset}"
        )
    config = attrs.evolve(
        base, asset=asset, initial_balance=balance, default_leverage=leverage, seed=seed
    )
    return PaperSetup(config=FeeConfig.coerce(fee_config).apply(config), awaiting_data=waiting)
