"""Algo (conditional) order reports from ``/fapi/v1/algoOrder``.

Since 2025-12-09 STOP, STOP_MARKET, TAKE_PROFIT, TAKE_PROFIT_MARKET and
TRAILING_STOP_MARKET live in Binance's Algo Service with their own ids
(``algoId``, ``clientAlgoId``) and statuses. This module maps those statuses
onto the engine's order statuses so one state machine serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import final

import attrs

from .enums import OrderSide, OrderStatus, OrderType
from .ids import Symbol
from .numbers import parse_wire_decimal
from .wire import MalformedResponse

__all__ = ["ALGO_STATUS_MAP", "AlgoOrder"]

#: Algo Service status -> order status. An algo order is "open" (NEW) until it
#: is triggered and its resulting order is done (FINISHED -> FILLED).
ALGO_STATUS_MAP: Mapping[str, OrderStatus] = MappingProxyType(
    {
        "NEW": OrderStatus.NEW,
        "TRIGGERING": OrderStatus.NEW,
        "TRIGGERED": OrderStatus.NEW,
        "FINISHED": OrderStatus.FILLED,
        "CANCELED": OrderStatus.CANCELED,
        "CANCELLED": OrderStatus.CANCELED,
        "REJECTED": OrderStatus.REJECTED,
        "EXPIRED": OrderStatus.EXPIRED,
    }
)


@final
@attrs.frozen(kw_only=True)
class AlgoOrder:
    """An algo order as the exchange reports it."""

    algo_id: int
    client_algo_id: str
    symbol: Symbol
    side: OrderSide
    order_type: OrderType
    algo_status: str
    status: OrderStatus
    quantity: Decimal
    trigger_price: Decimal
    executed_qty: Decimal
    avg_price: Decimal

    @classmethod
    def from_wire(cls, payload: object) -> AlgoOrder:
        """Parse an algo order object (new, query, cancel, lists).

        Raises:
            MalformedResponse: Missing ids or an unknown status.
        """
        if not isinstance(payload, Mapping):
            raise MalformedResponse(reason="algo order is not an object")
        p = payload
        raw_status = str(p.get("algoStatus", p.get("status", "")))
        if raw_status not in ALGO_STATUS_MAP:
            raise MalformedResponse(reason=f"unknown algo status {raw_status!r}")
        algo_id = p.get("algoId")
        client_id = p.get("clientAlgoId")
        if not isinstance(algo_id, int) or not isinstance(client_id, str):
            raise MalformedResponse(reason="missing algoId or clientAlgoId")

        def dec(*keys: str) -> Decimal:
            for key in keys:
                value = p.get(key)
                if value not in (None, ""):
                    return parse_wire_decimal(value, field=key)
            return Decimal(0)

        try:
            side = OrderSide(str(p.get("side")))
            order_type = OrderType(str(p.get("orderType", p.get("type"))))
        except ValueError as exc:
            raise MalformedResponse(reason=str(exc)) from None
        return cls(
            algo_id=algo_id,
            client_algo_id=client_id,
            symbol=Symbol(str(p.get("symbol"))),
            side=side,
            order_type=order_type,
            algo_status=raw_status,
            status=ALGO_STATUS_MAP[raw_status],
            quantity=dec("quantity", "origQty"),
            trigger_price=dec("triggerPrice", "stopPrice"),
            executed_qty=dec("executedQty", "actualQty", "aq"),
            avg_price=dec("avgPrice", "actualPrice", "ap"),
        )
