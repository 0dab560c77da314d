"""Conditional (algo) orders: STOP, TAKE_PROFIT, their MARKET forms, trailing stops.

Since 2025-12-09 these live in Binance's Algo Service, not the matching
engine: they have their own ids (``algoId``, ``clientAlgoId``) and statuses
(NEW, TRIGGERED, FINISHED, CANCELED, REJECTED, EXPIRED). Margin is not checked
until one triggers; it then places a MARKET or LIMIT order through the ledger,
which may refuse it (the algo becomes REJECTED). The algo is FINISHED when
that order reaches a terminal status.

The simulator has a single price, so MARK_PRICE and CONTRACT_PRICE triggers
watch the same number.

Every status change is appended to :attr:`AlgoBook.updates` and told to
:attr:`AlgoBook.observers` as an :class:`AlgoUpdate` (the user-data stream's
``ALGO_UPDATE``), synchronously and in order, like the ledger's observers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import final

import attrs

from trio_fapi.protocol.enums import OrderSide, OrderType, PositionSide
from trio_fapi.protocol.errors import FilterViolation

from .commands import NewAlgoOrder, NewOrder
from .errors import SimError
from .ledger import Ledger
from .order_checks import resolve_position_side
from .records import SimOrder, quantized

__all__ = ["AlgoBook", "AlgoOrder", "AlgoUpdate"]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_MAX_OPEN_ALGOS = 200
_MARKET_TYPES = frozenset(
    {OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET, OrderType.TRAILING_STOP_MARKET}
)
_OPEN = frozenset({"NEW", "TRIGGERING"})


@attrs.define(eq=False, kw_only=True)
class AlgoOrder:
    """One conditional order."""

    algo_id: int
    client_algo_id: str
    cmd: NewAlgoOrder
    position_side: PositionSide
    status: str = "NEW"
    actual_order_id: int | None = None
    actual_order_type: OrderType | None = None
    actual_price: Decimal = _ZERO
    actual_qty: Decimal = _ZERO
    create_time: int
    update_time: int
    trigger_time: int = 0
    activated: bool = False
    extreme: Decimal = _ZERO
    tick: Decimal
    step: Decimal

    @property
    def is_open(self) -> bool:
        """Not yet triggered, canceled or rejected."""
        return self.status in _OPEN

    def to_wire(self) -> dict[str, object]:
        """The algo order object of ``/fapi/v1/algoOrder`` answers."""
        c = self.cmd
        return {
            "algoId": self.algo_id,
            "clientAlgoId": self.client_algo_id,
            "algoType": "CONDITIONAL",
            "orderType": c.order_type.value,
            "symbol": c.symbol,
            "side": c.side.value,
            "positionSide": self.position_side.value,
            "timeInForce": c.time_in_force.value,
            "quantity": quantized(c.quantity or _ZERO, self.step),
            "algoStatus": self.status,
            "actualOrderId": "" if self.actual_order_id is None else str(self.actual_order_id),
            "actualPrice": quantized(self.actual_price, self.tick),
            "triggerPrice": quantized(c.trigger_price or _ZERO, self.tick),
            "price": quantized(c.price or _ZERO, self.tick),
            "icebergQuantity": None,
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "workingType": c.working_type.value,
            "priceMatch": "NONE",
            "closePosition": c.close_position,
            "priceProtect": c.price_protect,
            "reduceOnly": c.reduce_only,
            "activatePrice": quantized(c.activate_price or _ZERO, self.tick),
            "callbackRate": "" if c.callback_rate is None else str(c.callback_rate),
            "createTime": self.create_time,
            "updateTime": self.update_time,
            "triggerTime": self.trigger_time,
            "goodTillDate": c.good_till_date or 0,
        }


@final
@attrs.frozen(kw_only=True)
class AlgoUpdate:
    """One ``ALGO_UPDATE`` event (the ``o`` object, read-only)."""

    event_time: int
    o: Mapping[str, object]

    @classmethod
    def of(cls, algo: AlgoOrder, now_ms: int, reason: str = "") -> AlgoUpdate:
        """Snapshot ``algo`` after a status change."""
        w = algo.to_wire()
        o = {
            "caid": w["clientAlgoId"],
            "aid": w["algoId"],
            "at": "CONDITIONAL",
            "o": w["orderType"],
            "s": w["symbol"],
            "S": w["side"],
            "ps": w["positionSide"],
            "f": w["timeInForce"],
            "q": w["quantity"],
            "X": w["algoStatus"],
            "ai": w["actualOrderId"],
            "ap": w["actualPrice"],
            "aq": quantized(algo.actual_qty, algo.step),
            "act": "" if algo.actual_order_type is None else algo.actual_order_type.value,
            "tp": w["triggerPrice"],
            "p": w["price"],
            "V": w["selfTradePreventionMode"],
            "wt": w["workingType"],
            "pm": w["priceMatch"],
            "cp": w["closePosition"],
            "pP": w["priceProtect"],
            "R": w["reduceOnly"],
            "tt": w["triggerTime"],
            "gtd": w["goodTillDate"],
            "rm": reason,
        }
        return cls(event_time=now_ms, o=MappingProxyType(o))

    def to_wire(self) -> dict[str, object]:
        """The whole event as the user-data stream sends it."""
        return {"e": "ALGO_UPDATE", "E": self.event_time, "T": self.event_time, "o": dict(self.o)}


def _triggered(algo: AlgoOrder, price: Decimal) -> bool:
    """Whether ``price`` meets the algo's condition; updates trailing state."""
    c = algo.cmd
    buy = c.side is OrderSide.BUY
    if c.order_type is OrderType.TRAILING_STOP_MARKET:
        rate = (c.callback_rate or _ZERO) / _HUNDRED
        if not algo.activated:
            limit = c.activate_price
            if limit is None or (price <= limit if buy else price >= limit):
                algo.activated, algo.extreme = True, price
            return False
        algo.extreme = min(algo.extreme, price) if buy else max(algo.extreme, price)
        return price >= algo.extreme * (1 + rate) if buy else price <= algo.extreme * (1 - rate)
    trigger = c.trigger_price or _ZERO
    stop = c.order_type in (OrderType.STOP, OrderType.STOP_MARKET)
    rises = buy if stop else not buy
    return price >= trigger if rises else price <= trigger


@attrs.define(eq=False)
class AlgoBook:
    """Every algo order, and the trigger loop that turns them into orders."""

    ledger: Ledger
    algos: dict[int, AlgoOrder] = attrs.field(factory=dict)
    updates: list[AlgoUpdate] = attrs.field(factory=list)
    #: Told every :class:`AlgoUpdate`, in order, as it happens; records it, never raises.
    observers: list[Callable[[AlgoUpdate], None]] = attrs.field(factory=list)
    accepted: int = 0
    _next_id: int = 1
    _by_actual: dict[tuple[str, int], AlgoOrder] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self.ledger.on_final.append(self._order_final)

    def open_algos(self, symbol: str | None = None) -> list[AlgoOrder]:
        """Open algo orders (of one symbol or all), oldest first."""
        return [a for a in self.algos.values() if a.is_open and symbol in (None, a.cmd.symbol)]

    def find(self, algo_id: int | None, client_algo_id: str | None) -> AlgoOrder | None:
        """By ``algoId``, else by ``clientAlgoId`` (the open one, else the latest)."""
        if algo_id is not None:
            return self.algos.get(algo_id)
        same = [a for a in self.algos.values() if a.client_algo_id == client_algo_id]
        for algo in reversed(same):
            if algo.is_open:
                return algo
        return same[-1] if same else None

    def place(self, cmd: NewAlgoOrder, now_ms: int) -> AlgoOrder:
        """Check and store a conditional order.

        Raises:
            SimError: -4061, -1106, filter codes, -4116, -4045, -2021.
        """
        ledger = self.ledger
        spec = ledger.config.spec(cmd.symbol)
        if spec is None:
            raise SimError.of(-1121)
        dual = ledger.account.dual_side
        position_side = resolve_position_side(cmd.position_side, dual_side=dual)
        if cmd.reduce_only and dual:
            raise SimError.of(-1106, "reduceOnly")
        rules = spec.rules
        price_now = ledger.symbol_market(cmd.symbol).price
        try:
            for value, name in (
                (cmd.trigger_price, "triggerPrice"),
                (cmd.price, "price"),
                (cmd.activate_price, "activatePrice"),
            ):
                if value is not None:
                    rules.check_price(value, field=name)
            if cmd.quantity is not None:
                rules.check_quantity(cmd.quantity, market=cmd.order_type in _MARKET_TYPES)
        except FilterViolation as exc:
            raise SimError(
                code=exc.code, msg=f"Filter failure: {exc.filter}. {exc.reason}"
            ) from None
        reference = cmd.price or cmd.trigger_price or price_now
        if (
            cmd.quantity is not None
            and not (cmd.reduce_only or cmd.close_position)
            and reference * cmd.quantity < rules.min_notional
        ):
            raise SimError.of(-4164)
        if cmd.client_algo_id is not None and any(
            a.client_algo_id == cmd.client_algo_id for a in self.open_algos()
        ):
            raise SimError.of(-4116)
        if len(self.open_algos()) >= _MAX_OPEN_ALGOS:
            raise SimError(code=-4045, msg="Reach max stop order limit.")
        algo = AlgoOrder(
            algo_id=self._next_id,
            client_algo_id=cmd.client_algo_id or f"algo{ledger.config.seed}x{self._next_id}",
            cmd=cmd,
            position_side=position_side,
            create_time=now_ms,
            update_time=now_ms,
            tick=rules.price_filter.tick_size,
            step=rules.lot_size.step_size,
        )
        if cmd.order_type is OrderType.TRAILING_STOP_MARKET:
            buy = cmd.side is OrderSide.BUY
            act = cmd.activate_price
            if act is not None and (act >= price_now if buy else act <= price_now):
                raise SimError.of(-2021)
            _triggered(algo, price_now)
        elif _triggered(algo, price_now):
            raise SimError.of(-2021)
        self._next_id += 1
        self.algos[algo.algo_id] = algo
        self.accepted += 1
        self._emit(AlgoUpdate.of(algo, now_ms))
        return algo

    def cancel(self, algo_id: int | None, client_algo_id: str | None, now_ms: int) -> AlgoOrder:
        """Cancel an open algo order; -2011 if unknown or no longer open."""
        algo = self.find(algo_id, client_algo_id)
        if algo is None or not algo.is_open:
            raise SimError.of(-2011)
        self._set(algo, "CANCELED", now_ms)
        return algo

    def cancel_all(self, symbol: str, now_ms: int) -> list[AlgoOrder]:
        """Cancel every open algo order of ``symbol``."""
        canceled = self.open_algos(symbol)
        for algo in canceled:
            self._set(algo, "CANCELED", now_ms)
        return canceled

    def _set(self, algo: AlgoOrder, status: str, now_ms: int, reason: str = "") -> None:
        algo.status = status
        algo.update_time = now_ms
        self._emit(AlgoUpdate.of(algo, now_ms, reason))

    def _emit(self, update: AlgoUpdate) -> None:
        self.updates.append(update)
        for observer in list(self.observers):
            observer(update)

    def on_step(self, now_ms: int) -> None:
        """Trigger every open algo whose condition the current price meets."""
        for algo in self.open_algos():
            price = self.ledger.symbol_market(algo.cmd.symbol).price
            if _triggered(algo, price):
                self._trigger(algo, now_ms)

    def _trigger(self, algo: AlgoOrder, now_ms: int) -> None:
        ledger = self.ledger
        c = algo.cmd
        algo.trigger_time = now_ms
        self._set(algo, "TRIGGERING", now_ms)
        dual = ledger.account.dual_side
        quantity = c.quantity
        if c.close_position:
            quantity = ledger.account.closable(c.symbol, algo.position_side, c.side)
        client_id: str | None = algo.client_algo_id
        if ledger.has_open_client_id(c.symbol, algo.client_algo_id):
            client_id = None
        market = c.order_type in _MARKET_TYPES
        try:
            if quantity is None or quantity <= 0:
                raise SimError.of(-2022)
            cmd = NewOrder(
                symbol=c.symbol,
                side=c.side,
                order_type=OrderType.MARKET if market else OrderType.LIMIT,
                quantity=quantity,
                price=None if market else c.price,
                time_in_force=None if market else c.time_in_force,
                position_side=algo.position_side,
                reduce_only=(c.reduce_only or c.close_position) and not dual,
                client_order_id=client_id,
                orig_type=c.order_type,
                stop_price=c.trigger_price,
                working_type=c.working_type,
                close_position=c.close_position,
                price_protect=c.price_protect,
            )
            order = ledger.accept(cmd, now_ms, from_api=False)
        except SimError as exc:
            self._set(algo, "REJECTED", now_ms, exc.msg)
            return
        algo.actual_order_id = order.order_id
        algo.actual_order_type = order.order_type
        self._by_actual[(order.symbol, order.order_id)] = algo
        self._set(algo, "TRIGGERED", now_ms)
        ledger.execute(order, now_ms)

    def _order_final(self, order: SimOrder, now_ms: int) -> None:
        algo = self._by_actual.pop((order.symbol, order.order_id), None)
        if algo is not None:
            algo.actual_price = order.avg_price
            algo.actual_qty = order.executed_qty
            self._set(algo, "FINISHED", now_ms)
