"""Matching an order against the synthetic book: pure functions, no state.

An aggressive order walks the opposite side best-first while the level's
price is within its limit (a MARKET order has no limit), taking each level's
quantity at that level's price. A resting order crosses when the opposite
side's best price reaches its limit; it then fills at its own price (as a
maker), as far as the crossing liquidity goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import final

import attrs

from trio_fapi.protocol.enums import OrderSide

from .market import Level

__all__ = ["Fill", "crossing_qty", "plan_take", "within"]

_ZERO = Decimal(0)


@final
@attrs.frozen
class Fill:
    """One planned fill: ``qty`` at ``price``."""

    price: Decimal
    qty: Decimal


def within(side: OrderSide, limit: Decimal | None, level_price: Decimal) -> bool:
    """Whether an order of ``side`` with ``limit`` may trade at ``level_price``."""
    if limit is None:
        return True
    return level_price <= limit if side is OrderSide.BUY else level_price >= limit


def plan_take(
    levels: Sequence[Level], side: OrderSide, limit: Decimal | None, qty: Decimal
) -> list[Fill]:
    """The fills of an aggressive order of ``qty``, best level first.

    Args:
        levels: The opposite side of the book, best first.
        side: The order's side.
        limit: The order's limit price, or ``None`` for MARKET.
        qty: How much the order still wants.
    """
    fills: list[Fill] = []
    left = qty
    for level in levels:
        if left <= 0 or not within(side, limit, level.price):
            break
        take = min(left, level.qty)
        if take > 0:
            fills.append(Fill(level.price, take))
            left -= take
    return fills


def crossing_qty(levels: Sequence[Level], side: OrderSide, limit: Decimal) -> Decimal:
    """How much opposite liquidity sits at prices a resting ``limit`` order accepts."""
    return sum((lv.qty for lv in levels if within(side, limit, lv.price)), _ZERO)
