"""The checks a new order meets against the exchange's state, in Binance's order.

Shape checks (missing parameters, bad numbers, bad enums) happen when the API
parses the request; what is left here needs the account, the book or the open
orders. Filters run through :meth:`SymbolRules.validate`, the same code the
engine runs before sending, so both sides agree on every filter code.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, final

import attrs

from trio_fapi.protocol.enums import OrderSide, OrderType, PositionSide, TimeInForce
from trio_fapi.protocol.errors import FilterViolation, InvalidOrder, UnknownSymbol
from trio_fapi.protocol.ids import Symbol
from trio_fapi.protocol.numbers import fmt
from trio_fapi.protocol.orders import OrderRequest

from .commands import NewOrder
from .config import SymbolSpec
from .errors import SimError
from .matching import within
from .records import SimOrder

if TYPE_CHECKING:
    from .ledger import Ledger

__all__ = ["CheckedOrder", "check_filters", "check_new_order", "resolve_position_side"]

_GTD_MIN_AHEAD_MS = 600_000


@final
@attrs.frozen(kw_only=True)
class CheckedOrder:
    """What the checks settled: the spec, the quantity and the position side."""

    spec: SymbolSpec
    quantity: Decimal
    position_side: PositionSide


def resolve_position_side(sent: PositionSide | None, *, dual_side: bool) -> PositionSide:
    """The order's position side under the account's mode; -4061 on a mismatch."""
    if dual_side:
        if sent is None or sent is PositionSide.BOTH:
            raise SimError.of(-4061)
        return sent
    if sent is not None and sent is not PositionSide.BOTH:
        raise SimError.of(-4061)
    return PositionSide.BOTH


def check_filters(
    spec: SymbolSpec,
    *,
    side: OrderSide,
    order_type: OrderType,
    quantity: Decimal,
    price: Decimal | None,
    time_in_force: TimeInForce | None,
    reduce_only: bool,
    mark: Decimal,
    good_till_date: int | None = None,
) -> None:
    """Run the symbol's exchange filters; raise the filter's Binance code.

    Raises:
        SimError: -4013/-4002/-4014 (price), -4004/-4005/-4023 (quantity),
            -4164 (notional), -4016/-4024 (percent price), -1115 (tif).
    """
    rules = spec.rules
    try:
        request = OrderRequest(
            symbol=Symbol(spec.symbol),
            side=side,
            order_type=order_type,
            quantity=quantity,
            price=price,
            time_in_force=time_in_force,
            reduce_only=reduce_only,
            good_till_date=good_till_date if time_in_force is TimeInForce.GTD else None,
        )
        rules.validate(request, mark_price=mark)
    except FilterViolation as exc:
        raise SimError(code=exc.code, msg=_filter_message(exc, spec)) from None
    except UnknownSymbol:
        raise SimError.of(-1121) from None
    except InvalidOrder as exc:
        raise SimError(code=-1130, msg=f"Invalid order: {exc}") from None


def _filter_message(exc: FilterViolation, spec: SymbolSpec) -> str:
    if exc.code == -4164:
        return (
            f"Order's notional must be no smaller than {fmt(spec.rules.min_notional)}"
            " (unless you choose reduce only)."
        )
    return f"Filter failure: {exc.filter}. {exc.reason}"


def check_new_order(ledger: Ledger, cmd: NewOrder, now_ms: int) -> CheckedOrder:
    """Every state check of a new order, first failure wins.

    Raises:
        SimError: The first check that fails.
    """
    spec = ledger.config.spec(cmd.symbol)
    if spec is None:
        raise SimError.of(-1121)
    account = ledger.account
    market = ledger.symbol_market(cmd.symbol)
    position_side = resolve_position_side(cmd.position_side, dual_side=account.dual_side)
    if cmd.reduce_only and account.dual_side:
        raise SimError.of(-1106, "reduceOnly")
    check_filters(
        spec,
        side=cmd.side,
        order_type=cmd.order_type,
        quantity=cmd.quantity,
        price=cmd.price,
        time_in_force=cmd.time_in_force,
        reduce_only=cmd.reduce_only,
        mark=market.price,
        good_till_date=cmd.good_till_date,
    )
    if cmd.client_order_id is not None and ledger.has_open_client_id(
        cmd.symbol, cmd.client_order_id
    ):
        raise SimError.of(-4116)
    if len(ledger.open_orders[cmd.symbol]) >= spec.rules.max_num_orders:
        raise SimError.of(-2025)
    closing = cmd.reduce_only or (
        (position_side is PositionSide.LONG and cmd.side is OrderSide.SELL)
        or (position_side is PositionSide.SHORT and cmd.side is OrderSide.BUY)
    )
    if closing:
        closable = account.closable(cmd.symbol, position_side, cmd.side)
        if closable <= 0 or cmd.quantity > closable:
            raise SimError.of(-2022)
    if cmd.time_in_force is TimeInForce.GTD and (
        cmd.good_till_date is None or cmd.good_till_date <= now_ms + _GTD_MIN_AHEAD_MS
    ):
        raise SimError.of(-5040)
    book = market.book()
    opposite = book.side(cmd.side)
    if cmd.order_type is OrderType.LIMIT and cmd.price is not None:
        takes = bool(opposite) and within(cmd.side, cmd.price, opposite[0].price)
        if cmd.time_in_force in (TimeInForce.GTX, TimeInForce.RPI) and takes:
            raise SimError.of(-5022)
        if cmd.time_in_force is TimeInForce.FOK:
            # Priced as the fill will be: the ledger's planner (depth walk or a
            # slippage model), so a FOK that passes here fills in full.
            planned = ledger.take_planner(
                opposite, cmd.side, cmd.price, cmd.quantity, spec.rules.price_filter.tick_size
            )
            if sum((f.qty for f in planned), Decimal(0)) < cmd.quantity:
                raise SimError.of(-5021)
    if not closing:
        estimate = (
            cmd.price if cmd.price is not None else opposite[0].price if opposite else market.price
        )
        _check_margin(ledger, cmd, position_side, estimate, spec)
    return CheckedOrder(spec=spec, quantity=cmd.quantity, position_side=position_side)


def _check_margin(
    ledger: Ledger,
    cmd: NewOrder,
    position_side: PositionSide,
    price: Decimal,
    spec: SymbolSpec,
) -> None:
    """-2019 if the order would leave less than nothing available."""
    trial = SimOrder(
        symbol=cmd.symbol,
        order_id=0,
        client_order_id="",
        side=cmd.side,
        order_type=cmd.order_type,
        orig_type=cmd.order_type,
        time_in_force=TimeInForce.GTC,
        price=price,
        orig_qty=cmd.quantity,
        position_side=position_side,
        time=0,
        update_time=0,
        tick=spec.rules.price_filter.tick_size,
        step=spec.rules.lot_size.step_size,
    )
    ensure_margin(ledger, [trial])


def ensure_margin(
    ledger: Ledger, extra: list[SimOrder], *, without: SimOrder | None = None
) -> None:
    """-2019 unless the account still has margin with ``extra`` orders added.

    ``without`` leaves one open order out (a modification replaces it).
    An order that lowers the requirement is never refused.
    """
    account = ledger.account
    marks = ledger.marks()
    current = [o for o in ledger.open_orders_iter() if o is not without]
    before = account.available(ledger.open_orders_iter(), marks)
    after = account.available([*current, *extra], marks)
    if after < 0 and after < before:
        raise SimError.of(-2019)
