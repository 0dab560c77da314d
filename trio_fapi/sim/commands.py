"""Parsed requests to the ledger: parameters already checked for shape.

The API parses wire parameters (strings) into these frozen values; the ledger
then checks them against state (mode, position, margin, book). Keeping the two
steps apart lets a triggered algo order reuse the ledger path without
pretending to be an HTTP request.
"""

from __future__ import annotations

from decimal import Decimal
from typing import final

import attrs

from trio_fapi.protocol.enums import (
    OrderSide,
    OrderType,
    PositionSide,
    ResponseType,
    TimeInForce,
    WorkingType,
)

__all__ = ["ModifyOrder", "NewAlgoOrder", "NewOrder", "OrderRef"]


@final
@attrs.frozen(kw_only=True)
class OrderRef:
    """Which order a cancel / query / modify is about (``orderId`` wins)."""

    symbol: str
    order_id: int | None = None
    client_order_id: str | None = None


@final
@attrs.frozen(kw_only=True)
class NewOrder:
    """A LIMIT or MARKET order to place.

    ``position_side`` is ``None`` when the parameter was not sent, because
    "not sent" and "BOTH" mean different things in hedge mode.
    """

    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    position_side: PositionSide | None = None
    reduce_only: bool = False
    client_order_id: str | None = None
    response_type: ResponseType = ResponseType.ACK
    good_till_date: int | None = None
    # Set when an algo order triggers: what the order says it came from.
    orig_type: OrderType | None = None
    stop_price: Decimal | None = None
    working_type: WorkingType = WorkingType.CONTRACT_PRICE
    close_position: bool = False
    price_protect: bool = False


@final
@attrs.frozen(kw_only=True)
class ModifyOrder:
    """``PUT /fapi/v1/order``: a LIMIT order's new price and quantity."""

    ref: OrderRef
    side: OrderSide
    quantity: Decimal
    price: Decimal


@final
@attrs.frozen(kw_only=True)
class NewAlgoOrder:
    """A conditional order for ``POST /fapi/v1/algoOrder``."""

    symbol: str
    side: OrderSide
    order_type: OrderType
    quantity: Decimal | None
    price: Decimal | None
    trigger_price: Decimal | None
    time_in_force: TimeInForce
    position_side: PositionSide | None
    working_type: WorkingType
    reduce_only: bool
    close_position: bool
    price_protect: bool
    activate_price: Decimal | None
    callback_rate: Decimal | None
    client_algo_id: str | None
    good_till_date: int | None = None
