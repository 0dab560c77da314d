"""The ledger: the exchange's ground truth for orders, fills and positions.

Pure (no trio, no I/O): every method takes ``now_ms``. The API calls
:meth:`Ledger.accept` (every check, then the order exists as NEW) and
:meth:`Ledger.execute` (aggressive matching); between the two it can snapshot
the ACK answer. :meth:`Ledger.on_step` runs after each market step and fills
resting orders the price has crossed. User orders trade only against the
synthetic book, never against each other.

State-dependent checks live in :mod:`.order_checks`; this module changes state.

Every change is told to :attr:`Ledger.observers` as a
:data:`~.records.LedgerEvent` (and appended to :attr:`Ledger.order_updates` in
its wire form), so callbacks and event streams are fed from one place. How an
aggressive order is priced is :attr:`Ledger.take_planner` (the depth walk
unless a slippage model replaces it).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterable
from decimal import Decimal

import attrs

from trio_fapi.protocol.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
)

from .accounts import Account
from .commands import NewOrder, OrderRef
from .config import SimConfig
from .errors import SimError
from .market import Market, SymbolMarket
from .matching import TakePlanner, crossing_qty, plan_take, walk_book, within
from .order_checks import check_new_order
from .records import (
    Execution,
    ExecutionType,
    FundingSettled,
    LedgerEvent,
    LedgerObserver,
    OrderChanged,
    OrderUpdate,
    SimOrder,
)

__all__ = ["Ledger"]

_ZERO = Decimal(0)
_MONEY = Decimal("0.00000001")
_THREE_DAYS_MS = 3 * 24 * 3600 * 1000
_NINETY_DAYS_MS = 90 * 24 * 3600 * 1000
_ID_ALPHABET = string.ascii_letters + string.digits

#: Expiry reasons (``er`` in ORDER_TRADE_UPDATE).
ER_IOC = 2
ER_REDUCE_ONLY = 4
ER_GTD = 6
ER_MARKET_NO_DEPTH = 9


@attrs.define(eq=False)
class Ledger:
    """Orders, executions, the event log, the account and the dead-man timers."""

    config: SimConfig
    market: Market
    account: Account = attrs.field(init=False)
    orders: dict[str, dict[int, SimOrder]] = attrs.field(init=False)
    open_orders: dict[str, dict[int, SimOrder]] = attrs.field(init=False)
    executions: list[Execution] = attrs.field(init=False, factory=list)
    order_updates: list[OrderUpdate] = attrs.field(init=False, factory=list)
    countdowns: dict[str, int] = attrs.field(init=False, factory=dict)
    orders_accepted: int = attrs.field(init=False, default=0)
    #: Called with each order that reaches a terminal status (algo orders listen).
    on_final: list[Callable[[SimOrder, int], None]] = attrs.field(init=False, factory=list)
    #: Told every :data:`LedgerEvent`, in order, as it happens (see :mod:`.records`).
    observers: list[LedgerObserver] = attrs.field(init=False, factory=list)
    #: Prices aggressive orders (the depth walk unless replaced).
    take_planner: TakePlanner = attrs.field(init=False, default=walk_book)
    _next_order_id: dict[str, int] = attrs.field(init=False)
    _next_trade_id: dict[str, int] = attrs.field(init=False)
    _by_client_id: dict[tuple[str, str], list[SimOrder]] = attrs.field(init=False, factory=dict)
    _id_rng: random.Random = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        cfg = self.config
        self.account = Account(
            asset=cfg.asset, wallet=cfg.initial_balance, default_leverage=cfg.default_leverage
        )
        names = [s.symbol for s in cfg.symbols]
        self.orders = {n: {} for n in names}
        self.open_orders = {n: {} for n in names}
        # Each symbol counts from its own base, so an id used with the wrong
        # symbol is an unknown order rather than a silent hit.
        self._next_order_id = {n: (i + 1) * 1_000_000_000 + 1 for i, n in enumerate(names)}
        self._next_trade_id = {n: (i + 1) * 1_000_000_000 + 1 for i, n in enumerate(names)}
        self._id_rng = random.Random(f"ids:{cfg.seed}")

    # -- lookups ------------------------------------------------------------------

    def marks(self) -> dict[str, Decimal]:
        """Mark price of every symbol."""
        return {name: m.price for name, m in self.market.symbols.items()}

    def symbol_market(self, symbol: str) -> SymbolMarket:
        """The symbol's market; -1121 if not listed."""
        found = self.market.get(symbol)
        if found is None:
            raise SimError.of(-1121)
        return found

    def all_open_orders(self, symbol: str | None = None) -> list[SimOrder]:
        """Open orders (of one symbol or all), oldest first."""
        names = [symbol] if symbol is not None else list(self.open_orders)
        out: list[SimOrder] = []
        for name in names:
            out.extend(self.open_orders.get(name, {}).values())
        return out

    def find(self, ref: OrderRef) -> SimOrder | None:
        """The order ``ref`` names; by client id, the open one or else the latest."""
        if ref.order_id is not None:
            return self.orders.get(ref.symbol, {}).get(ref.order_id)
        if ref.client_order_id is None:
            return None
        same = self._by_client_id.get((ref.symbol, ref.client_order_id), [])
        for order in reversed(same):
            if order.is_open:
                return order
        return same[-1] if same else None

    def query(self, ref: OrderRef, now_ms: int) -> SimOrder:
        """The order for ``GET /fapi/v1/order``; -2013 if unknown or archived."""
        order = self.find(ref)
        if order is None or _archived(order, now_ms):
            raise SimError.of(-2013)
        return order

    def orders_by_client_id(self, symbol: str, client_order_id: str) -> list[SimOrder]:
        """Every order of ``symbol`` that carried this client id, oldest first."""
        return list(self._by_client_id.get((symbol, client_order_id), []))

    # -- placing ------------------------------------------------------------------

    def accept(self, cmd: NewOrder, now_ms: int, *, from_api: bool = True) -> SimOrder:
        """Check ``cmd`` against the state and store it as NEW.

        Raises:
            SimError: -4061, -1106, filter codes, -4116, -2025, -2022, -5040,
                -5021, -5022 or -2019; nothing is stored then.
        """
        market = self.symbol_market(cmd.symbol)
        if not market.has_data:
            raise SimError(code=-1112, msg="No orders on book for symbol.")
        checked = check_new_order(self, cmd, now_ms)
        spec = checked.spec
        client_id = cmd.client_order_id or self._generate_client_id()
        symbol = cmd.symbol
        order = SimOrder(
            symbol=symbol,
            order_id=self._take_order_id(symbol),
            client_order_id=client_id,
            side=cmd.side,
            order_type=cmd.order_type,
            orig_type=cmd.orig_type or cmd.order_type,
            time_in_force=cmd.time_in_force or TimeInForce.GTC,
            price=cmd.price if cmd.price is not None else _ZERO,
            orig_qty=checked.quantity,
            position_side=checked.position_side,
            reduce_only=cmd.reduce_only,
            close_position=cmd.close_position,
            stop_price=cmd.stop_price or _ZERO,
            working_type=cmd.working_type,
            price_protect=cmd.price_protect,
            good_till_date=cmd.good_till_date or 0,
            time=now_ms,
            update_time=now_ms,
            tick=spec.rules.price_filter.tick_size,
            step=spec.rules.lot_size.step_size,
        )
        self.orders[symbol][order.order_id] = order
        self.open_orders[symbol][order.order_id] = order
        self._by_client_id.setdefault((symbol, client_id), []).append(order)
        if from_api:
            self.orders_accepted += 1
        self._record(order, ExecutionType.NEW, now_ms)
        return order

    def execute(self, order: SimOrder, now_ms: int) -> None:
        """Match a just-accepted (or amended) order as a taker; expire what must not rest."""
        market = self.symbol_market(order.symbol)
        limit = order.price if order.order_type is OrderType.LIMIT else None
        wanted = self._fillable(order)
        if wanted > 0:
            levels = market.book().side(order.side)
            for fill in self.take_planner(levels, order.side, limit, wanted, order.tick):
                market.consume(order.side, fill.price, fill.qty)
                self._fill(order, fill.price, fill.qty, maker=False, now_ms=now_ms)
        if not order.is_open:
            return
        if order.order_type is OrderType.MARKET:
            self._finish(
                order, OrderStatus.EXPIRED, ExecutionType.EXPIRED, now_ms, ER_MARKET_NO_DEPTH
            )
        elif order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            self._finish(order, OrderStatus.EXPIRED, ExecutionType.EXPIRED, now_ms, ER_IOC)
        elif self._fillable(order) < order.remaining:
            self._finish(order, OrderStatus.EXPIRED, ExecutionType.EXPIRED, now_ms, ER_REDUCE_ONLY)

    def _fillable(self, order: SimOrder) -> Decimal:
        """What the order may fill now: reduce-only and hedge closes stop at the position."""
        if order.reduce_only or _is_hedge_close(order):
            cap = self.account.closable(order.symbol, order.position_side, order.side)
            return min(order.remaining, cap)
        return order.remaining

    def _fill(
        self, order: SimOrder, price: Decimal, qty: Decimal, *, maker: bool, now_ms: int
    ) -> None:
        rate = self.config.fee_rate(order.symbol, maker=maker)
        commission = (price * qty * rate).quantize(_MONEY)
        realized = self.account.apply_fill(
            order.symbol, order.position_side, order.side, qty, price, commission, now_ms
        )
        trade_id = self._next_trade_id[order.symbol]
        self._next_trade_id[order.symbol] = trade_id + 1
        execution = Execution(
            trade_id=trade_id,
            symbol=order.symbol,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            side=order.side,
            position_side=order.position_side,
            price=price,
            qty=qty,
            commission=commission,
            commission_asset=self.config.asset,
            realized_pnl=realized,
            maker=maker,
            time=now_ms,
            tick=order.tick,
            step=order.step,
        )
        self.executions.append(execution)
        order.executed_qty += qty
        order.cum_quote += price * qty
        order.update_time = now_ms
        filled = order.executed_qty >= order.orig_qty
        order.status = OrderStatus.FILLED if filled else OrderStatus.PARTIALLY_FILLED
        self.symbol_market(order.symbol).candles.record_trade(now_ms, price, qty)
        self._record(order, ExecutionType.TRADE, now_ms, fill=execution)
        if filled:
            self._close(order, now_ms)

    def _finish(
        self,
        order: SimOrder,
        status: OrderStatus,
        execution_type: ExecutionType,
        now_ms: int,
        reason: int = 0,
    ) -> None:
        order.status = status
        order.expiry_reason = reason
        order.update_time = now_ms
        self._record(order, execution_type, now_ms)
        self._close(order, now_ms)

    def _record(
        self,
        order: SimOrder,
        execution_type: ExecutionType,
        now_ms: int,
        *,
        fill: Execution | None = None,
    ) -> None:
        """Log the change in wire form and tell the observers."""
        update = OrderUpdate.of(order, execution_type.value, now_ms, fill=fill)
        self.order_updates.append(update)
        if self.observers:
            self._notify(
                OrderChanged(
                    execution_type=execution_type,
                    order=attrs.evolve(order),
                    fill=fill,
                    update=update,
                )
            )

    def _notify(self, event: LedgerEvent) -> None:
        for observer in list(self.observers):
            observer(event)

    def _close(self, order: SimOrder, now_ms: int) -> None:
        self.open_orders[order.symbol].pop(order.order_id, None)
        for listener in self.on_final:
            listener(order, now_ms)

    def amend(self, order: SimOrder, price: Decimal, quantity: Decimal, now_ms: int) -> None:
        """Apply an accepted modification and let the order take if it now crosses."""
        order.price = price
        order.orig_qty = quantity
        order.modifications += 1
        order.update_time = now_ms
        order.status = OrderStatus.PARTIALLY_FILLED if order.executed_qty > 0 else OrderStatus.NEW
        self._record(order, ExecutionType.AMENDMENT, now_ms)
        self.execute(order, now_ms)

    # -- canceling ----------------------------------------------------------------

    def cancel(self, ref: OrderRef, now_ms: int) -> SimOrder:
        """Cancel one open order; -2011 if it is unknown or already finished."""
        order = self.find(ref)
        if order is None or not order.is_open:
            raise SimError.of(-2011)
        self._finish(order, OrderStatus.CANCELED, ExecutionType.CANCELED, now_ms)
        return order

    def cancel_all(self, symbol: str, now_ms: int) -> list[SimOrder]:
        """Cancel every open order of ``symbol``."""
        canceled = self.all_open_orders(symbol)
        for order in canceled:
            self._finish(order, OrderStatus.CANCELED, ExecutionType.CANCELED, now_ms)
        return canceled

    def set_countdown(self, symbol: str, countdown_ms: int, now_ms: int) -> None:
        """Arm (or with 0 disarm) the symbol's auto-cancel countdown."""
        if countdown_ms <= 0:
            self.countdowns.pop(symbol, None)
        else:
            self.countdowns[symbol] = now_ms + countdown_ms

    # -- funding ------------------------------------------------------------------

    def settle_funding(self, symbol: str, rate: Decimal, now_ms: int) -> Decimal:
        """Apply one funding payment at ``rate`` to every position of ``symbol``.

        The mark price is the symbol's price now. Each payment is told to the
        observers as a :class:`FundingSettled`.

        Returns:
            What the wallet gained in total (negative when it paid).

        Raises:
            SimError: -1121 if the symbol is not listed.
        """
        mark = self.symbol_market(symbol).price
        total = _ZERO
        for pos, payment in self.account.apply_funding(symbol, mark, rate, now_ms):
            total += payment
            if self.observers:
                self._notify(
                    FundingSettled(
                        symbol=symbol,
                        position_side=pos.side,
                        position_amount=pos.amount,
                        mark_price=mark,
                        rate=rate,
                        payment=payment,
                        time=now_ms,
                    )
                )
        return total

    # -- time ---------------------------------------------------------------------

    def check_timers(self, now_ms: int) -> None:
        """Fire due countdowns and expire GTD orders whose time has come."""
        for symbol, deadline in list(self.countdowns.items()):
            if deadline <= now_ms:
                del self.countdowns[symbol]
                self.cancel_all(symbol, now_ms)
        for order in self.all_open_orders():
            if order.time_in_force is TimeInForce.GTD and 0 < order.good_till_date <= now_ms:
                self._finish(order, OrderStatus.EXPIRED, ExecutionType.EXPIRED, now_ms, ER_GTD)

    def on_step(self, now_ms: int) -> None:
        """After a market step (or a pushed price): fire timers, then fill crossed orders."""
        self.check_timers(now_ms)
        for symbol, open_by_id in self.open_orders.items():
            if open_by_id:
                self.match_resting(symbol, now_ms)

    def match_resting(self, symbol: str, now_ms: int) -> None:
        """Fill (as maker, at their own price) resting orders the book now crosses."""
        market = self.symbol_market(symbol)
        bid, ask = market.best_bid, market.best_ask
        crossed = [
            o
            for o in self.open_orders[symbol].values()
            if o.order_type is OrderType.LIMIT
            and within(o.side, o.price, ask if o.side is OrderSide.BUY else bid)
        ]
        if not crossed:
            return
        # Price priority, then time (order id grows with time).
        crossed.sort(key=lambda o: (-o.price if o.side is OrderSide.BUY else o.price, o.order_id))
        for order in crossed:
            if not order.is_open:
                continue
            wanted = self._fillable(order)
            if wanted <= 0:
                self._finish(
                    order, OrderStatus.EXPIRED, ExecutionType.EXPIRED, now_ms, ER_REDUCE_ONLY
                )
                continue
            levels = market.book().side(order.side)
            qty = min(wanted, crossing_qty(levels, order.side, order.price))
            if qty <= 0:
                continue
            for fill in plan_take(levels, order.side, order.price, qty):
                market.consume(order.side, fill.price, fill.qty)
            self._fill(order, order.price, qty, maker=True, now_ms=now_ms)

    # -- ids ----------------------------------------------------------------------

    def _take_order_id(self, symbol: str) -> int:
        order_id = self._next_order_id[symbol]
        self._next_order_id[symbol] = order_id + 1
        return order_id

    def _generate_client_id(self) -> str:
        return "".join(self._id_rng.choice(_ID_ALPHABET) for _ in range(22))

    def has_open_client_id(self, symbol: str, client_order_id: str) -> bool:
        """Whether an open order of ``symbol`` carries ``client_order_id``."""
        return any(o.is_open for o in self._by_client_id.get((symbol, client_order_id), []))

    def open_orders_iter(self) -> Iterable[SimOrder]:
        """Every open order (for margin sums)."""
        for by_id in self.open_orders.values():
            yield from by_id.values()


def _is_hedge_close(order: SimOrder) -> bool:
    return (order.position_side is PositionSide.LONG and order.side is OrderSide.SELL) or (
        order.position_side is PositionSide.SHORT and order.side is OrderSide.BUY
    )


def _archived(order: SimOrder, now_ms: int) -> bool:
    """Binance stops showing old orders (binance-fapi.md 2.2, query order)."""
    if now_ms - order.time > _NINETY_DAYS_MS:
        return True
    return (
        order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED)
        and order.executed_qty == 0
        and now_ms - order.time > _THREE_DAYS_MS
    )
