"""Exchange filters from exchangeInfo: validate and quantize with Decimal.

A request that passes :meth:`SymbolRules.validate` also passes the exchange's
filter checks (the simulated exchange runs the same code), so filter errors
(-4004, -4014, -4164, ...) are caught before any I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, final

import attrs

from .enums import OrderSide, OrderType, TimeInForce
from .errors import FilterViolation, UnknownSymbol
from .ids import Symbol
from .numbers import fmt, parse_wire_decimal

if TYPE_CHECKING:
    from .orders import OrderRequest

__all__ = [
    "scale_rate_limits",
    "DEFAULT_RATE_LIMITS",
    "ExchangeInfo",
    "LotSize",
    "PercentPrice",
    "PriceFilter",
    "RateLimit",
    "SymbolRules",
]

_ZERO = Decimal(0)
# ``"LIMIT" in OrderType`` raises TypeError on Python 3.11 (value lookup arrived in 3.12),
# so membership of wire strings is checked against the values.
_ORDER_TYPE_VALUES = frozenset(t.value for t in OrderType)
_TIME_IN_FORCE_VALUES = frozenset(t.value for t in TimeInForce)


def _decimals(step: Decimal) -> int:
    """Decimal places of a tick or step as written ("0.10" has 2, as Binance counts)."""
    exponent = step.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _multiple(value: Decimal, base: Decimal, step: Decimal) -> bool:
    return step == 0 or (value - base) % step == 0


def _on_grid_exponent(value: Decimal, step: Decimal) -> Decimal:
    """``value`` written with ``step``'s decimals, unless that would move it.

    The grid starts at minPrice/minQty, which may have more decimals than the
    step; quantizing then would round the value off the grid (and a SELL price
    or a quantity past what was asked).
    """
    quantized = value.quantize(step)
    return quantized if quantized == value else value


@final
@attrs.frozen(kw_only=True)
class PriceFilter:
    """PRICE_FILTER: bounds and tick for prices (0 disables a bound)."""

    min_price: Decimal
    max_price: Decimal
    tick_size: Decimal


@final
@attrs.frozen(kw_only=True)
class LotSize:
    """LOT_SIZE or MARKET_LOT_SIZE: bounds and step for quantities."""

    min_qty: Decimal
    max_qty: Decimal
    step_size: Decimal


@final
@attrs.frozen(kw_only=True)
class PercentPrice:
    """PERCENT_PRICE: how far from the mark price a limit price may be."""

    multiplier_up: Decimal
    multiplier_down: Decimal


@final
@attrs.frozen(kw_only=True)
class RateLimit:
    """One entry of exchangeInfo ``rateLimits``."""

    kind: str  # REQUEST_WEIGHT | ORDERS | RAW_REQUEST
    interval: str  # SECOND | MINUTE | HOUR | DAY
    interval_num: int
    limit: int

    @property
    def window_s(self) -> float:
        """The window's length in seconds."""
        unit = {"SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400}[self.interval]
        return float(unit * self.interval_num)

    def to_wire(self) -> dict[str, object]:
        """The exchangeInfo JSON shape."""
        return {
            "rateLimitType": self.kind,
            "interval": self.interval,
            "intervalNum": self.interval_num,
            "limit": self.limit,
        }


def scale_rate_limits(rate_limits: tuple[RateLimit, ...], fraction: float) -> tuple[RateLimit, ...]:
    """This process's part of the account's limits (several processes split them).

    Each limit is rounded down, and never below 1.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    return tuple(attrs.evolve(r, limit=max(1, int(r.limit * fraction))) for r in rate_limits)


#: Binance's documented defaults (binance-fapi.md section 3.1).
DEFAULT_RATE_LIMITS = (
    RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=2400),
    RateLimit(kind="ORDERS", interval="SECOND", interval_num=10, limit=300),
    RateLimit(kind="ORDERS", interval="MINUTE", interval_num=1, limit=1200),
)


@final
@attrs.frozen(kw_only=True)
class SymbolRules:
    """Everything the engine needs to validate an order for one symbol."""

    symbol: Symbol
    status: str
    base_asset: str
    quote_asset: str
    margin_asset: str
    price_filter: PriceFilter
    lot_size: LotSize
    market_lot_size: LotSize
    min_notional: Decimal = _ZERO
    percent_price: PercentPrice | None = None
    max_num_orders: int = 200
    order_types: frozenset[OrderType] = frozenset(OrderType) - {OrderType.LIQUIDATION}
    time_in_force: frozenset[TimeInForce] = frozenset(TimeInForce)

    @classmethod
    def from_wire(cls, entry: Mapping[str, object]) -> SymbolRules:
        """Parse one ``symbols[]`` entry of exchangeInfo."""
        filters: dict[str, Mapping[str, object]] = {}
        raw_filters = entry.get("filters", [])
        if isinstance(raw_filters, list):
            for item in raw_filters:
                if isinstance(item, Mapping):
                    filters[str(item.get("filterType"))] = item

        def dec(name: str, key: str, default: str = "0") -> Decimal:
            return parse_wire_decimal(filters.get(name, {}).get(key, default), field=key)

        lot = LotSize(
            min_qty=dec("LOT_SIZE", "minQty"),
            max_qty=dec("LOT_SIZE", "maxQty"),
            step_size=dec("LOT_SIZE", "stepSize"),
        )
        market_lot = (
            LotSize(
                min_qty=dec("MARKET_LOT_SIZE", "minQty"),
                max_qty=dec("MARKET_LOT_SIZE", "maxQty"),
                step_size=dec("MARKET_LOT_SIZE", "stepSize"),
            )
            if "MARKET_LOT_SIZE" in filters
            else lot
        )
        percent = (
            PercentPrice(
                multiplier_up=dec("PERCENT_PRICE", "multiplierUp"),
                multiplier_down=dec("PERCENT_PRICE", "multiplierDown"),
            )
            if "PERCENT_PRICE" in filters
            else None
        )
        max_orders = filters.get("MAX_NUM_ORDERS", {}).get("limit", 200)
        types = entry.get("orderTypes", [])
        tifs = entry.get("timeInForce", [])
        return cls(
            symbol=Symbol(str(entry["symbol"])),
            status=str(entry.get("status", "TRADING")),
            base_asset=str(entry.get("baseAsset", "")),
            quote_asset=str(entry.get("quoteAsset", "")),
            margin_asset=str(entry.get("marginAsset", entry.get("quoteAsset", ""))),
            price_filter=PriceFilter(
                min_price=dec("PRICE_FILTER", "minPrice"),
                max_price=dec("PRICE_FILTER", "maxPrice"),
                tick_size=dec("PRICE_FILTER", "tickSize"),
            ),
            lot_size=lot,
            market_lot_size=market_lot,
            min_notional=dec("MIN_NOTIONAL", "notional"),
            percent_price=percent,
            max_num_orders=int(max_orders) if isinstance(max_orders, int | str) else 200,
            order_types=frozenset(
                OrderType(t)
                for t in (types if isinstance(types, list) else [])
                if t in _ORDER_TYPE_VALUES
            )
            or frozenset(OrderType) - {OrderType.LIQUIDATION},
            time_in_force=frozenset(
                TimeInForce(t)
                for t in (tifs if isinstance(tifs, list) else [])
                if t in _TIME_IN_FORCE_VALUES
            )
            or frozenset(TimeInForce),
        )

    def to_wire(self) -> dict[str, object]:
        """The exchangeInfo ``symbols[]`` JSON shape (used by the simulated exchange)."""
        filters: list[dict[str, object]] = [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fmt(self.price_filter.min_price),
                "maxPrice": fmt(self.price_filter.max_price),
                "tickSize": fmt(self.price_filter.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fmt(self.lot_size.min_qty),
                "maxQty": fmt(self.lot_size.max_qty),
                "stepSize": fmt(self.lot_size.step_size),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": fmt(self.market_lot_size.min_qty),
                "maxQty": fmt(self.market_lot_size.max_qty),
                "stepSize": fmt(self.market_lot_size.step_size),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": self.max_num_orders},
            {"filterType": "MIN_NOTIONAL", "notional": fmt(self.min_notional)},
        ]
        if self.percent_price is not None:
            filters.append(
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": fmt(self.percent_price.multiplier_up),
                    "multiplierDown": fmt(self.percent_price.multiplier_down),
                    "multiplierDecimal": "4",
                }
            )
        return {
            "symbol": self.symbol.value,
            "pair": self.symbol.value,
            "contractType": "PERPETUAL",
            "status": self.status,
            "baseAsset": self.base_asset,
            "quoteAsset": self.quote_asset,
            "marginAsset": self.margin_asset,
            "pricePrecision": _decimals(self.price_filter.tick_size),
            "quantityPrecision": _decimals(self.lot_size.step_size),
            "filters": filters,
            "orderTypes": sorted(t.value for t in self.order_types),
            "timeInForce": sorted(t.value for t in self.time_in_force),
        }

    # -- quantization -------------------------------------------------------------

    def round_price(self, price: Decimal, side: OrderSide) -> Decimal:
        """Snap a price onto the tick grid, staying passive.

        BUY rounds down and SELL rounds up, so a quoted price never becomes more
        aggressive than the caller asked.
        """
        tick = self.price_filter.tick_size
        if tick == 0:
            return price
        base = self.price_filter.min_price
        rounding = ROUND_FLOOR if side is OrderSide.BUY else ROUND_CEILING
        steps = ((price - base) / tick).to_integral_value(rounding=rounding)
        return _on_grid_exponent(base + steps * tick, tick)

    def round_quantity(self, quantity: Decimal, *, market: bool = False) -> Decimal:
        """Floor a quantity onto the step grid (never trades more than asked)."""
        lot = self.market_lot_size if market else self.lot_size
        if lot.step_size == 0:
            return quantity
        steps = ((quantity - lot.min_qty) / lot.step_size).to_integral_value(rounding=ROUND_FLOOR)
        return _on_grid_exponent(lot.min_qty + steps * lot.step_size, lot.step_size)

    # -- validation ---------------------------------------------------------------

    def check_price(self, price: Decimal, *, field: str = "price") -> None:
        """Raise :class:`FilterViolation` unless ``price`` passes PRICE_FILTER."""
        pf = self.price_filter
        if pf.min_price > 0 and price < pf.min_price:
            raise FilterViolation(
                filter="PRICE_FILTER", code=-4013, reason=f"{field} {fmt(price)} < minPrice"
            )
        if pf.max_price > 0 and price > pf.max_price:
            raise FilterViolation(
                filter="PRICE_FILTER", code=-4002, reason=f"{field} {fmt(price)} > maxPrice"
            )
        if not _multiple(price, pf.min_price, pf.tick_size):
            raise FilterViolation(
                filter="PRICE_FILTER",
                code=-4014,
                reason=f"{field} {fmt(price)} is not a multiple of tickSize {fmt(pf.tick_size)}",
            )

    def check_quantity(self, quantity: Decimal, *, market: bool) -> None:
        """Raise :class:`FilterViolation` unless ``quantity`` passes (MARKET_)LOT_SIZE."""
        name = "MARKET_LOT_SIZE" if market else "LOT_SIZE"
        lot = self.market_lot_size if market else self.lot_size
        if quantity < lot.min_qty:
            raise FilterViolation(
                filter=name, code=-4004, reason=f"quantity {fmt(quantity)} < minQty"
            )
        if lot.max_qty > 0 and quantity > lot.max_qty:
            raise FilterViolation(
                filter=name, code=-4005, reason=f"quantity {fmt(quantity)} > maxQty"
            )
        if not _multiple(quantity, lot.min_qty, lot.step_size):
            raise FilterViolation(
                filter=name,
                code=-4023,
                reason=(
                    f"quantity {fmt(quantity)} is not a multiple of stepSize {fmt(lot.step_size)}"
                ),
            )

    def validate(self, request: OrderRequest, *, mark_price: Decimal | None = None) -> None:
        """Check an order against every filter of this symbol.

        Args:
            request: The order (already checked for shape by its own constructor).
            mark_price: The current mark price, when known. MIN_NOTIONAL for
                MARKET orders and PERCENT_PRICE need it; without it those two
                checks are left to the exchange.

        Raises:
            UnknownSymbol: The symbol is not TRADING.
            FilterViolation: A value is outside a filter; ``code`` says which.
        """
        if self.status != "TRADING":
            raise UnknownSymbol(symbol=self.symbol.value, reason=f"status is {self.status}")
        if request.order_type not in self.order_types:
            raise FilterViolation(
                filter="orderTypes", code=-1116, reason=f"{request.order_type} not allowed"
            )
        if request.time_in_force is not None and request.time_in_force not in self.time_in_force:
            raise FilterViolation(
                filter="timeInForce", code=-1115, reason=f"{request.time_in_force} not allowed"
            )
        if request.price is not None:
            self.check_price(request.price)
        if request.trigger_price is not None:
            self.check_price(request.trigger_price, field="triggerPrice")
        market = request.order_type in (
            OrderType.MARKET,
            OrderType.STOP_MARKET,
            OrderType.TAKE_PROFIT_MARKET,
            OrderType.TRAILING_STOP_MARKET,
        )
        if request.quantity is not None:
            self.check_quantity(request.quantity, market=market)
            reference = request.price if request.price is not None else mark_price
            if (
                reference is None
                and request.trigger_price is not None
                and request.order_type is not OrderType.MARKET
            ):
                reference = request.trigger_price
            if (
                reference is not None
                and not request.reduce_only
                and self.min_notional > 0
                and reference * request.quantity < self.min_notional
            ):
                raise FilterViolation(
                    filter="MIN_NOTIONAL",
                    code=-4164,
                    reason=(
                        f"notional {fmt(reference * request.quantity)} < {fmt(self.min_notional)}"
                        " (reduce-only orders are exempt)"
                    ),
                )
        pp = self.percent_price
        if pp is not None and mark_price is not None and request.price is not None:
            if request.side is OrderSide.BUY and request.price > mark_price * pp.multiplier_up:
                raise FilterViolation(
                    filter="PERCENT_PRICE",
                    code=-4016,
                    reason=f"BUY price {fmt(request.price)} above mark x {fmt(pp.multiplier_up)}",
                )
            if request.side is OrderSide.SELL and request.price < mark_price * pp.multiplier_down:
                raise FilterViolation(
                    filter="PERCENT_PRICE",
                    code=-4024,
                    reason=(
                        f"SELL price {fmt(request.price)} below mark x {fmt(pp.multiplier_down)}"
                    ),
                )


@final
@attrs.frozen(kw_only=True)
class ExchangeInfo:
    """The parts of exchangeInfo the engine uses: symbol rules and rate limits."""

    symbols: Mapping[Symbol, SymbolRules]
    rate_limits: tuple[RateLimit, ...] = DEFAULT_RATE_LIMITS

    @classmethod
    def from_wire(cls, payload: Mapping[str, object]) -> ExchangeInfo:
        """Parse a ``GET /fapi/v1/exchangeInfo`` body."""
        raw_symbols = payload.get("symbols", [])
        symbols: dict[Symbol, SymbolRules] = {}
        if isinstance(raw_symbols, list):
            for entry in raw_symbols:
                if isinstance(entry, Mapping):
                    rules = SymbolRules.from_wire(entry)
                    symbols[rules.symbol] = rules
        raw_limits = payload.get("rateLimits", [])
        limits = [
            RateLimit(
                kind=str(item.get("rateLimitType")),
                interval=str(item.get("interval")),
                interval_num=int(str(item.get("intervalNum", 1))),
                limit=int(str(item.get("limit", 0))),
            )
            for item in (raw_limits if isinstance(raw_limits, list) else [])
            if isinstance(item, Mapping)
        ]
        return cls(symbols=symbols, rate_limits=tuple(limits) or DEFAULT_RATE_LIMITS)

    def rules(self, symbol: Symbol | str) -> SymbolRules:
        """The rules for ``symbol``.

        Raises:
            UnknownSymbol: The symbol is not listed (wrong case counts as unlisted).
        """
        key = symbol if isinstance(symbol, Symbol) else _symbol_or_unknown(symbol)
        try:
            return self.symbols[key]
        except KeyError:
            raise UnknownSymbol(symbol=key.value) from None


def _symbol_or_unknown(text: str) -> Symbol:
    return Symbol(text)
