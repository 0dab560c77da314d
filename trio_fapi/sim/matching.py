"""Matching an order against the synthetic book: pure functions, no state.

An aggressive order walks the opposite side best-first while the level's
price is within its limit (a MARKET order has no limit), taking each level's
quantity at that level's price. A resting order crosses when the opposite
side's best price reaches its limit; it then fills at its own price (as a
maker), as far as the crossing liquidity goes.

How an aggressive order is priced is pluggable: the ledger asks a
:class:`TakePlanner` for the fills. The default, :func:`walk_book`, is the
depth walk above; the paper broker can swap in a parametric slippage model
without a second matching engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol, final

import attrs

from trio_fapi.protocol.enums import OrderSide

from .market import Level

__all__ = ["Fill", "TakePlanner", "crossing_qty", "plan_take", "walk_book", "within"]

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


class TakePlanner(Protocol):
    """Plans the fills of an aggressive order against one side of the book.

    Args (positional):
        levels: The opposite side of the book, best first.
        side: The order's side.
        limit: The order's limit price, or ``None`` for MARKET.
        qty: How much the order still wants.
        tick: The symbol's tick size, for models that compute prices.

    Returns:
        The fills, at most ``qty`` in total, none beyond ``limit``.
    """

    def __call__(
        self,
        levels: Sequence[Level],
        side: OrderSide,
        limit: Decimal | None,
        qty: Decimal,
        tick: Decimal,
        /,
    ) -> list[Fill]: ...


def walk_book(
    levels: Sequence[Level], side: OrderSide, limit: Decimal | None, qty: Decimal, tick: Decimal, /
) -> list[Fill]:
    """The default :class:`TakePlanner`: :func:`plan_take` (the tick is not needed)."""
    del tick
    return plan_take(levels, side, limit, qty)
