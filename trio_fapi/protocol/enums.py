"""Order vocabulary.

The values are Binance's own wire strings, so translation at the boundary is
``OrderType(payload["type"])`` and nothing else. Local-only statuses
(``PENDING_NEW``, ``PENDING_CANCEL``, ``UNKNOWN``, ``UNRESOLVED``) never reach the
wire. Spelling follows Binance: *Canceled*.
"""

from __future__ import annotations

import enum

__all__ = [
    "ALGO_ORDER_TYPES",
    "LOCAL_STATUSES",
    "TERMINAL_STATUSES",
    "MarginType",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "PositionSide",
    "ResponseType",
    "TimeInForce",
    "WorkingType",
]


class OrderSide(enum.StrEnum):
    """Which way the order trades."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> OrderSide:
        """The other side."""
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(enum.StrEnum):
    """Order types; the conditional ones go through the algo endpoints since 2025-12-09."""

    LIMIT = "LIMIT"
    MARKET = "MARKET"
    STOP = "STOP"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"
    TRAILING_STOP_MARKET = "TRAILING_STOP_MARKET"
    LIQUIDATION = "LIQUIDATION"


#: Types that ``POST /fapi/v1/order`` refuses with -4120.
ALGO_ORDER_TYPES = frozenset(
    {
        OrderType.STOP,
        OrderType.STOP_MARKET,
        OrderType.TAKE_PROFIT,
        OrderType.TAKE_PROFIT_MARKET,
        OrderType.TRAILING_STOP_MARKET,
    }
)


class TimeInForce(enum.StrEnum):
    """How long a LIMIT order may rest. GTX is post-only; GTD needs ``good_till_date``."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTX = "GTX"
    GTD = "GTD"
    RPI = "RPI"


class OrderStatus(enum.StrEnum):
    """Exchange statuses plus the engine's local ones."""

    # Local: the engine's knowledge, never sent by Binance.
    PENDING_NEW = "PENDING_NEW"
    PENDING_CANCEL = "PENDING_CANCEL"
    UNKNOWN = "UNKNOWN"
    UNRESOLVED = "UNRESOLVED"
    # Exchange.
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"

    @property
    def is_terminal(self) -> bool:
        """True when no further fill or status change can happen on the exchange."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
        OrderStatus.EXPIRED_IN_MATCH,
    }
)
LOCAL_STATUSES = frozenset(
    {
        OrderStatus.PENDING_NEW,
        OrderStatus.PENDING_CANCEL,
        OrderStatus.UNKNOWN,
        OrderStatus.UNRESOLVED,
    }
)


class PositionSide(enum.StrEnum):
    """BOTH in one-way mode; LONG or SHORT in hedge mode."""

    BOTH = "BOTH"
    LONG = "LONG"
    SHORT = "SHORT"


class WorkingType(enum.StrEnum):
    """Which price a conditional order watches."""

    MARK_PRICE = "MARK_PRICE"
    CONTRACT_PRICE = "CONTRACT_PRICE"


class MarginType(enum.StrEnum):
    """Per-symbol margin mode."""

    ISOLATED = "ISOLATED"
    CROSSED = "CROSSED"


class ResponseType(enum.StrEnum):
    """How much the new-order response says."""

    ACK = "ACK"
    RESULT = "RESULT"
