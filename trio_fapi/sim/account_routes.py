"""Account routes: positions, balances, account totals, leverage, modes, listenKey."""

from __future__ import annotations

from decimal import Decimal

from trio_fapi.protocol.enums import MarginType, OrderSide
from trio_fapi.protocol.numbers import fmt

from .accounts import Account, PositionState, max_notional_for
from .config import SymbolSpec
from .context import RouteContext, Routes
from .errors import SimError
from .order_params import parse_symbol
from .records import SimOrder, money, quantized

__all__ = ["ROUTES"]

_ZERO = Decimal(0)
_ALIAS = "SgsR"


def _selected(ctx: RouteContext) -> list[SymbolSpec]:
    spec = parse_symbol(ctx.params, ctx.exchange.config, required=False)
    return [spec] if spec is not None else list(ctx.exchange.config.symbols)


def _notional(orders: list[SimOrder], side: OrderSide) -> Decimal:
    return sum((o.remaining * o.price for o in orders if o.side is side), _ZERO)


def _position_row(ctx: RouteContext, spec: SymbolSpec, pos: PositionState) -> dict[str, object]:
    """The fields v2 and v3 share, plus the margin numbers."""
    ledger = ctx.exchange.ledger
    account = ledger.account
    mark = ledger.symbol_market(spec.symbol).price
    notional = pos.amount * mark
    leverage = account.leverage_of(spec.symbol)
    isolated = account.margin_type_of(spec.symbol) is MarginType.ISOLATED
    initial = abs(notional) / leverage
    unrealized = pos.unrealized(mark)
    orders = [o for o in ledger.all_open_orders(spec.symbol) if o.position_side is pos.side]
    return {
        "symbol": spec.symbol,
        "positionSide": pos.side.value,
        "positionAmt": quantized(pos.amount, spec.rules.lot_size.step_size),
        "entryPrice": money(pos.entry_price),
        "breakEvenPrice": money(pos.entry_price),
        "markPrice": fmt(mark),
        "unRealizedProfit": money(unrealized),
        "liquidationPrice": "0",
        "isolatedMargin": money(initial + unrealized if isolated else _ZERO),
        "notional": money(notional),
        "marginAsset": account.asset,
        "isolatedWallet": money(initial if isolated else _ZERO),
        "initialMargin": money(initial),
        "maintMargin": money(abs(notional) * spec.maint_margin_rate),
        "positionInitialMargin": money(initial),
        "openOrderInitialMargin": money(account.order_margin(orders, ledger.marks(), spec.symbol)),
        "adl": 0,
        "bidNotional": money(_notional(orders, OrderSide.BUY)),
        "askNotional": money(_notional(orders, OrderSide.SELL)),
        "updateTime": pos.update_time,
    }


def position_risk_v3(ctx: RouteContext) -> object:
    """``GET /fapi/v3/positionRisk``: only symbols with a position or open orders."""
    ledger = ctx.exchange.ledger
    rows: list[dict[str, object]] = []
    for spec in _selected(ctx):
        has_orders = bool(ledger.open_orders[spec.symbol])
        for side in ledger.account.position_sides():
            pos = ledger.account.position(spec.symbol, side)
            if pos.amount != 0 or has_orders:
                rows.append(_position_row(ctx, spec, pos))
    return rows


def position_risk_v2(ctx: RouteContext) -> object:
    """``GET /fapi/v2/positionRisk``: every symbol, with leverage and margin type."""
    account = ctx.exchange.ledger.account
    rows: list[dict[str, object]] = []
    for spec in _selected(ctx):
        leverage = account.leverage_of(spec.symbol)
        for side in account.position_sides():
            row = _position_row(ctx, spec, account.position(spec.symbol, side))
            row.update(
                {
                    "leverage": str(leverage),
                    "maxNotionalValue": fmt(max_notional_for(leverage)),
                    "marginType": (
                        "isolated"
                        if account.margin_type_of(spec.symbol) is MarginType.ISOLATED
                        else "cross"
                    ),
                    "isAutoAddMargin": "false",
                }
            )
            rows.append(row)
    return rows


def _totals(ctx: RouteContext) -> dict[str, Decimal]:
    ledger = ctx.exchange.ledger
    account: Account = ledger.account
    marks = ledger.marks()
    unrealized = account.unrealized(marks)
    position_im = account.position_margin(marks)
    order_im = account.order_margin(ledger.open_orders_iter(), marks)
    maint = sum(
        (
            abs(p.amount) * marks[p.symbol] * _maint_rate(ctx, p.symbol)
            for p in account.positions.values()
            if p.amount
        ),
        _ZERO,
    )
    available = account.wallet + unrealized - position_im - order_im
    return {
        "wallet": account.wallet,
        "unrealized": unrealized,
        "position_im": position_im,
        "order_im": order_im,
        "maint": maint,
        "available": available,
    }


def _maint_rate(ctx: RouteContext, symbol: str) -> Decimal:
    spec = ctx.exchange.config.spec(symbol)
    return spec.maint_margin_rate if spec is not None else _ZERO


def _balance_row(ctx: RouteContext) -> dict[str, object]:
    t = _totals(ctx)
    account = ctx.exchange.ledger.account
    return {
        "accountAlias": _ALIAS,
        "asset": account.asset,
        "balance": money(t["wallet"]),
        "crossWalletBalance": money(t["wallet"]),
        "crossUnPnl": money(t["unrealized"]),
        "availableBalance": money(t["available"]),
        "maxWithdrawAmount": money(max(_ZERO, t["available"])),
        "marginAvailable": True,
        "updateTime": account.update_time,
    }


def balance(ctx: RouteContext) -> object:
    """``GET /fapi/v2/balance`` and ``/fapi/v3/balance``."""
    return [_balance_row(ctx)]


def _account(ctx: RouteContext, *, v2: bool) -> dict[str, object]:
    t = _totals(ctx)
    account = ctx.exchange.ledger.account
    initial = t["position_im"] + t["order_im"]
    margin_balance = t["wallet"] + t["unrealized"]
    asset = {
        "asset": account.asset,
        "walletBalance": money(t["wallet"]),
        "unrealizedProfit": money(t["unrealized"]),
        "marginBalance": money(margin_balance),
        "maintMargin": money(t["maint"]),
        "initialMargin": money(initial),
        "positionInitialMargin": money(t["position_im"]),
        "openOrderInitialMargin": money(t["order_im"]),
        "crossWalletBalance": money(t["wallet"]),
        "crossUnPnl": money(t["unrealized"]),
        "availableBalance": money(t["available"]),
        "maxWithdrawAmount": money(max(_ZERO, t["available"])),
        "marginAvailable": True,
        "updateTime": account.update_time,
    }
    positions: list[dict[str, object]] = []
    for spec in ctx.exchange.config.symbols:
        for side in account.position_sides():
            pos = account.position(spec.symbol, side)
            if pos.amount == 0 and not v2:
                continue
            row = _position_row(ctx, spec, pos)
            row["unrealizedProfit"] = row.pop("unRealizedProfit")
            if v2:
                row["leverage"] = str(account.leverage_of(spec.symbol))
                row["isolated"] = account.margin_type_of(spec.symbol) is MarginType.ISOLATED
                row["maxNotional"] = fmt(max_notional_for(account.leverage_of(spec.symbol)))
            positions.append(row)
    body: dict[str, object] = {
        "totalInitialMargin": money(initial),
        "totalMaintMargin": money(t["maint"]),
        "totalWalletBalance": money(t["wallet"]),
        "totalUnrealizedProfit": money(t["unrealized"]),
        "totalMarginBalance": money(margin_balance),
        "totalPositionInitialMargin": money(t["position_im"]),
        "totalOpenOrderInitialMargin": money(t["order_im"]),
        "totalCrossWalletBalance": money(t["wallet"]),
        "totalCrossUnPnl": money(t["unrealized"]),
        "availableBalance": money(t["available"]),
        "maxWithdrawAmount": money(max(_ZERO, t["available"])),
        "assets": [asset],
        "positions": positions,
    }
    if v2:
        body.update(
            {
                "feeTier": 0,
                "feeBurn": False,
                "canTrade": True,
                "canDeposit": True,
                "canWithdraw": True,
                "updateTime": 0,
                "multiAssetsMargin": False,
                "tradeGroupId": -1,
            }
        )
    return body


def account_v3(ctx: RouteContext) -> object:
    """``GET /fapi/v3/account``."""
    return _account(ctx, v2=False)


def account_v2(ctx: RouteContext) -> object:
    """``GET /fapi/v2/account``."""
    return _account(ctx, v2=True)


def change_leverage(ctx: RouteContext) -> object:
    """``POST /fapi/v1/leverage``: 1 to 125, else -4028."""
    spec = parse_symbol(ctx.params, ctx.exchange.config)
    assert spec is not None
    leverage = ctx.params.integer("leverage", required=True)
    assert leverage is not None
    if not 1 <= leverage <= 125:
        raise SimError.of(-4028, leverage)
    ctx.exchange.ledger.account.leverage[spec.symbol] = leverage
    return {
        "leverage": leverage,
        "maxNotionalValue": fmt(max_notional_for(leverage)),
        "symbol": spec.symbol,
    }


def change_margin_type(ctx: RouteContext) -> object:
    """``POST /fapi/v1/marginType``: -4046 when already so."""
    spec = parse_symbol(ctx.params, ctx.exchange.config)
    assert spec is not None
    wanted = ctx.params.choice("marginType", MarginType, -1130, required=True)
    ledger = ctx.exchange.ledger
    account = ledger.account
    if wanted is account.margin_type_of(spec.symbol):
        raise SimError.of(-4046)
    if ledger.open_orders[spec.symbol]:
        raise SimError.of(-4047)
    if any(p.amount for p in account.positions.values() if p.symbol == spec.symbol):
        raise SimError.of(-4048)
    assert wanted is not None
    account.margin_type[spec.symbol] = wanted
    return {"code": 200, "msg": "success"}


def position_mode(ctx: RouteContext) -> object:
    """``GET /fapi/v1/positionSide/dual``."""
    return {"dualSidePosition": ctx.exchange.ledger.account.dual_side}


def change_position_mode(ctx: RouteContext) -> object:
    """``POST /fapi/v1/positionSide/dual``: -4059 when already so."""
    ctx.params.require("dualSidePosition")
    wanted = ctx.params.boolean("dualSidePosition")
    ledger = ctx.exchange.ledger
    if wanted is ledger.account.dual_side:
        raise SimError.of(-4059)
    if ledger.all_open_orders():
        raise SimError.of(-4067)
    if ledger.account.has_positions():
        raise SimError.of(-4068)
    ledger.account.dual_side = bool(wanted)
    return {"code": 200, "msg": "success"}


def new_listen_key(ctx: RouteContext) -> object:
    """``POST /fapi/v1/listenKey``."""
    return {"listenKey": ctx.exchange.listen_keys.create(ctx.now_ms)}


def keepalive_listen_key(ctx: RouteContext) -> object:
    """``PUT /fapi/v1/listenKey``."""
    key = ctx.exchange.listen_keys.keepalive(ctx.params.text("listenKey"), ctx.now_ms)
    return {"listenKey": key}


def close_listen_key(ctx: RouteContext) -> object:
    """``DELETE /fapi/v1/listenKey``."""
    ctx.exchange.listen_keys.close(ctx.params.text("listenKey"))
    return {}


ROUTES: Routes = {
    ("GET", "/fapi/v2/positionRisk"): position_risk_v2,
    ("GET", "/fapi/v3/positionRisk"): position_risk_v3,
    ("GET", "/fapi/v2/balance"): balance,
    ("GET", "/fapi/v3/balance"): balance,
    ("GET", "/fapi/v2/account"): account_v2,
    ("GET", "/fapi/v3/account"): account_v3,
    ("POST", "/fapi/v1/leverage"): change_leverage,
    ("POST", "/fapi/v1/marginType"): change_margin_type,
    ("GET", "/fapi/v1/positionSide/dual"): position_mode,
    ("POST", "/fapi/v1/positionSide/dual"): change_position_mode,
    ("POST", "/fapi/v1/listenKey"): new_listen_key,
    ("PUT", "/fapi/v1/listenKey"): keepalive_listen_key,
    ("DELETE", "/fapi/v1/listenKey"): close_listen_key,
}
