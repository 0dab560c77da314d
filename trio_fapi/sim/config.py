"""What the simulated exchange is: its symbols, account, fees, limits and clock.

A :class:`SimConfig` is a frozen value, so one config can start many
simulators and a test that needs a variant says so with ``attrs.evolve``.
Symbol filters reuse :class:`~trio_fapi.protocol.filters.SymbolRules`: the
simulator refuses exactly what the engine's own pre-flight checks refuse.
"""

from __future__ import annotations

from decimal import Decimal
from typing import final

import attrs

from trio_fapi.protocol.filters import (
    DEFAULT_RATE_LIMITS,
    LotSize,
    PercentPrice,
    PriceFilter,
    RateLimit,
    SymbolRules,
)
from trio_fapi.protocol.ids import Symbol

from .rates import BanPolicy

__all__ = ["SimConfig", "SymbolSpec", "default_config"]


@final
@attrs.frozen(kw_only=True)
class SymbolSpec:
    """One tradable symbol: its filters and how its synthetic market behaves.

    Attributes:
        rules: The exchangeInfo filters, served as-is and enforced on orders.
        start_price: The price at the start of the path (on the tick grid).
        volatility: Standard deviation of the relative price move per second
            (``0`` keeps the price still, which hand-computed tests want).
        spread_ticks: Ticks between best bid and best ask.
        depth_levels: Price levels on each side of the synthetic book.
        level_qty: Mean quantity resting on each synthetic level.
        qty_jitter: How far a level's quantity strays from ``level_qty``, as a
            fraction (``0`` gives every level exactly ``level_qty``).
        maint_margin_rate: Maintenance margin as a fraction of notional.
        maker_fee: This symbol's maker rate, when it differs from the account's
            (Binance prices some symbols apart); ``None`` uses
            :attr:`SimConfig.maker_fee`.
        taker_fee: The same for taker fills.
    """

    rules: SymbolRules
    start_price: Decimal
    volatility: Decimal = Decimal("0.0001")
    spread_ticks: int = 1
    depth_levels: int = 20
    level_qty: Decimal = Decimal(1)
    qty_jitter: Decimal = Decimal("0.5")
    maint_margin_rate: Decimal = Decimal("0.004")
    maker_fee: Decimal | None = None
    taker_fee: Decimal | None = None

    @property
    def symbol(self) -> str:
        """The symbol's wire name."""
        return self.rules.symbol.value


@final
@attrs.frozen(kw_only=True)
class SimConfig:
    """Everything that makes one simulated exchange differ from another.

    Attributes:
        symbols: The listed symbols, in exchangeInfo order.
        api_key: The only API key the exchange accepts.
        api_secret: The HMAC secret paired with ``api_key``.
        seed: Seeds the price paths, book quantities and generated ids, so the
            same seed gives the same history.
        asset: The margin asset of the single-asset account.
        initial_balance: The wallet balance at start.
        maker_fee: Commission rate on resting (maker) fills.
        taker_fee: Commission rate on aggressive (taker) fills.
        rate_limits: The limits served in exchangeInfo and enforced.
        default_leverage: Leverage of every symbol until changed.
        server_time_offset_ms: Added to the simulator's clock, to test clock skew.
        tick_s: How often (trio seconds) the market moves one step.
        response_latency_s: How long (trio seconds) an answer takes to come back
            after the exchange applied the request; a client that gives up in
            that time leaves the effect in place, as on the real exchange.
        recv_window_max_ms: The largest ``recvWindow`` accepted.
        listen_key_ttl_ms: How long a listenKey stays valid after a keep-alive.
        ban_policy: When ignoring 429s turns into a 418 IP ban, and for how long.
        stream_buffer_frames: Frames one user-data stream connection may have
            waiting for its reader; one more and the server drops the
            connection (a slow reader never blocks the exchange).
        stream_max_age_s: How long (trio seconds) a stream connection may live
            before the server closes it (Binance: 24 hours).
    """

    symbols: tuple[SymbolSpec, ...]
    api_key: str = "sim-key"
    api_secret: str = attrs.field(default="sim-secret", repr=False)
    seed: int = 0
    asset: str = "USDT"
    initial_balance: Decimal = Decimal(100000)
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")
    rate_limits: tuple[RateLimit, ...] = DEFAULT_RATE_LIMITS
    default_leverage: int = 20
    server_time_offset_ms: int = 0
    tick_s: float = 0.1
    response_latency_s: float = 0.0
    recv_window_max_ms: int = 60000
    listen_key_ttl_ms: int = 60 * 60 * 1000
    ban_policy: BanPolicy = attrs.field(factory=BanPolicy)
    stream_buffer_frames: int = attrs.field(default=1000, validator=attrs.validators.ge(1))
    stream_max_age_s: float = attrs.field(default=24 * 3600.0, validator=attrs.validators.gt(0))

    def spec(self, symbol: str) -> SymbolSpec | None:
        """The spec of ``symbol``, or ``None`` when it is not listed."""
        for spec in self.symbols:
            if spec.symbol == symbol:
                return spec
        return None

    def fee_rate(self, symbol: str, *, maker: bool) -> Decimal:
        """The commission rate of a fill of ``symbol``: the symbol's own, else the account's."""
        spec = self.spec(symbol)
        own = None if spec is None else spec.maker_fee if maker else spec.taker_fee
        if own is not None:
            return own
        return self.maker_fee if maker else self.taker_fee

    def still_market(self) -> SimConfig:
        """A copy whose prices never move on their own and whose book is uniform.

        Tests that compute fills by hand use this and move prices with
        ``set_price``.
        """
        return attrs.evolve(
            self,
            symbols=tuple(
                attrs.evolve(s, volatility=Decimal(0), qty_jitter=Decimal(0)) for s in self.symbols
            ),
        )


def _rules(
    symbol: str,
    *,
    base: str,
    tick: str,
    min_price: str,
    max_price: str,
    step: str,
    min_qty: str,
    max_qty: str,
    market_max_qty: str,
    min_notional: str,
) -> SymbolRules:
    return SymbolRules(
        symbol=Symbol(symbol),
        status="TRADING",
        base_asset=base,
        quote_asset="USDT",
        margin_asset="USDT",
        price_filter=PriceFilter(
            min_price=Decimal(min_price), max_price=Decimal(max_price), tick_size=Decimal(tick)
        ),
        lot_size=LotSize(
            min_qty=Decimal(min_qty), max_qty=Decimal(max_qty), step_size=Decimal(step)
        ),
        market_lot_size=LotSize(
            min_qty=Decimal(min_qty), max_qty=Decimal(market_max_qty), step_size=Decimal(step)
        ),
        min_notional=Decimal(min_notional),
        percent_price=PercentPrice(
            multiplier_up=Decimal("1.0500"), multiplier_down=Decimal("0.9500")
        ),
    )


def default_config(seed: int = 0) -> SimConfig:
    """BTCUSDT, ETHUSDT and SOLUSDT with filters like the live ones (binance-fapi.md 7.4).

    Args:
        seed: Seeds prices, book quantities and generated ids.
    """
    btc = SymbolSpec(
        rules=_rules(
            "BTCUSDT",
            base="BTC",
            tick="0.10",
            min_price="556.80",
            max_price="4529764",
            step="0.001",
            min_qty="0.001",
            max_qty="1000",
            market_max_qty="120",
            min_notional="100",
        ),
        start_price=Decimal("60000.00"),
        level_qty=Decimal("2.000"),
    )
    eth = SymbolSpec(
        rules=_rules(
            "ETHUSDT",
            base="ETH",
            tick="0.01",
            min_price="39.86",
            max_price="306177",
            step="0.001",
            min_qty="0.001",
            max_qty="10000",
            market_max_qty="2000",
            min_notional="20",
        ),
        start_price=Decimal("3000.00"),
        level_qty=Decimal("20.000"),
    )
    sol = SymbolSpec(
        rules=_rules(
            "SOLUSDT",
            base="SOL",
            tick="0.0100",
            min_price="0.4200",
            max_price="6857",
            step="1",
            min_qty="1",
            max_qty="1000000",
            market_max_qty="5000",
            min_notional="5",
        ),
        start_price=Decimal("150.0000"),
        level_qty=Decimal(500),
        maint_margin_rate=Decimal("0.005"),
    )
    return SimConfig(symbols=(btc, eth, sol), seed=seed)
