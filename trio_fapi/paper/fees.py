"""Commission rates for paper fills: maker and taker, with per-symbol overrides.

The rates are applied by the simulated exchange's ledger (through
:meth:`~trio_fapi.sim.config.SimConfig.fee_rate`), so a paper fill and a sim
fill of the same size pay the same commission: ``price * qty * rate``, rounded
to eight decimals as Binance prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import final

import attrs

from trio_fapi.protocol.numbers import to_decimal
from trio_fapi.sim.config import SimConfig

from .errors import InvalidSetting

__all__ = ["FeeConfig"]


def _maker(value: object) -> Decimal:
    return to_decimal(value, field="maker", positive=False)


def _taker(value: object) -> Decimal:
    return to_decimal(value, field="taker", positive=False)


def _per_symbol(
    value: Mapping[str, tuple[object, object]],
) -> Mapping[str, tuple[Decimal, Decimal]]:
    return MappingProxyType(
        {
            symbol: (
                to_decimal(maker, field=f"{symbol} maker", positive=False),
                to_decimal(taker, field=f"{symbol} taker", positive=False),
            )
            for symbol, (maker, taker) in value.items()
        }
    )


@final
@attrs.frozen(kw_only=True)
class FeeConfig:
    """Commission rates as fractions of notional (``0.0002`` is 2 bps).

    A negative maker rate is a rebate, as on some Binance fee tiers.

    Attributes:
        maker: The rate of fills that rested on the book.
        taker: The rate of fills that took liquidity.
        per_symbol: ``{symbol: (maker, taker)}`` for symbols priced apart.
    """

    maker: Decimal = attrs.field(default=Decimal("0.0002"), converter=_maker)
    taker: Decimal = attrs.field(default=Decimal("0.0005"), converter=_taker)
    per_symbol: Mapping[str, tuple[Decimal, Decimal]] = attrs.field(
        factory=dict, converter=_per_symbol
    )

    @classmethod
    def coerce(cls, value: FeeConfig | Mapping[str, object] | None) -> FeeConfig:
        """Accept a :class:`FeeConfig`, a ``{"maker": .., "taker": ..}`` mapping, or ``None``.

        Raises:
            InvalidSetting: A mapping with keys other than ``maker`` and ``taker``.
            InvalidNumber: A rate that is a float or not a number.
        """
        if value is None:
            return cls()
        if isinstance(value, FeeConfig):
            return value
        unknown = set(value) - {"maker", "taker"}
        if unknown:
            raise InvalidSetting(name="fee_config", reason=f"unknown keys {sorted(unknown)}")
        defaults = cls()
        return cls(
            maker=value.get("maker", defaults.maker), taker=value.get("taker", defaults.taker)
        )

    def apply(self, config: SimConfig) -> SimConfig:
        """``config`` with these rates (per-symbol rates go onto the symbol specs)."""
        unknown = set(self.per_symbol) - {spec.symbol for spec in config.symbols}
        if unknown:
            raise InvalidSetting(name="fee_config", reason=f"unlisted symbols {sorted(unknown)}")
        symbols = tuple(
            attrs.evolve(spec, maker_fee=rates[0], taker_fee=rates[1])
            if (rates := self.per_symbol.get(spec.symbol)) is not None
            else spec
            for spec in config.symbols
        )
        return attrs.evolve(config, maker_fee=self.maker, taker_fee=self.taker, symbols=symbols)
