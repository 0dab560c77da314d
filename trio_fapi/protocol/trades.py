"""Account trades (``GET /fapi/v1/userTrades``): fills with their fees and PnL."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import final

import attrs

from .enums import OrderSide
from .ids import Symbol
from .numbers import parse_wire_decimal
from .wire import MalformedResponse

__all__ = ["AccountTrade"]


@final
@attrs.frozen(kw_only=True)
class AccountTrade:
    """One execution of one of the account's orders."""

    symbol: Symbol
    trade_id: int
    order_id: int
    side: OrderSide
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    realized_pnl: Decimal
    maker: bool
    time: int

    @classmethod
    def from_wire(cls, payload: object) -> AccountTrade:
        """Parse one userTrades row.

        Raises:
            MalformedResponse: Missing ids or non-numeric amounts.
        """
        if not isinstance(payload, Mapping):
            raise MalformedResponse(reason="trade is not an object")
        p = payload
        trade_id, order_id = p.get("id"), p.get("orderId")
        if not isinstance(trade_id, int) or not isinstance(order_id, int):
            raise MalformedResponse(reason="trade without id or orderId")

        def dec(key: str) -> Decimal:
            return parse_wire_decimal(p.get(key, "0"), field=key)

        time = p.get("time", 0)
        return cls(
            symbol=Symbol(str(p.get("symbol"))),
            trade_id=trade_id,
            order_id=order_id,
            side=OrderSide(str(p.get("side"))),
            price=dec("price"),
            qty=dec("qty"),
            quote_qty=dec("quoteQty"),
            commission=dec("commission"),
            commission_asset=str(p.get("commissionAsset", "USDT")),
            realized_pnl=dec("realizedPnl"),
            maker=p.get("maker") is True,
            time=time if isinstance(time, int) else 0,
        )
