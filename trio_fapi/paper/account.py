"""The account as the paper broker reports it: balances, margin, positions, PnL.

The numbers come from the simulated exchange's account
(:class:`~trio_fapi.sim.accounts.Account`), whose rules are written down there:
USD-M cross margin, initial margin ``notional / leverage`` for positions (at
the mark price) and for open orders (at their limit price, the reservation an
order holds until it fills or is canceled).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import final

import attrs

from trio_fapi.protocol.enums import PositionSide
from trio_fapi.sim.accounts import Account, PositionState
from trio_fapi.sim.records import SimOrder

__all__ = ["PaperAccount", "PaperPosition", "PnL", "account_snapshot", "position_snapshot"]

_ZERO = Decimal(0)


@final
@attrs.frozen(kw_only=True)
class PaperPosition:
    """One position at one instant.

    Attributes:
        symbol: The symbol.
        position_side: BOTH in one-way mode, LONG or SHORT in hedge mode.
        amount: Signed size: positive long, negative short.
        entry_price: The quantity-weighted entry price (``0`` when flat).
        mark_price: The price unrealized PnL is measured at.
        unrealized_pnl: ``amount * (mark_price - entry_price)``.
        realized_pnl: PnL realized by this position's fills so far, before fees.
        commission: Commission its fills paid so far.
        funding: Funding it received so far (negative: paid).
        leverage: The symbol's leverage.
        initial_margin: ``abs(amount) * mark_price / leverage``.
    """

    symbol: str
    position_side: PositionSide
    amount: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    commission: Decimal
    funding: Decimal
    leverage: int
    initial_margin: Decimal

    @property
    def notional(self) -> Decimal:
        """``amount * mark_price`` (signed)."""
        return self.amount * self.mark_price


@final
@attrs.frozen(kw_only=True)
class PnL:
    """One symbol's profit and loss.

    Attributes:
        symbol: The symbol.
        realized: Realized on reducing fills, before fees.
        unrealized: Open positions at the mark price.
        commission: Paid on every fill.
        funding: Received from funding (negative: paid).
    """

    symbol: str
    realized: Decimal
    unrealized: Decimal
    commission: Decimal
    funding: Decimal

    @property
    def total(self) -> Decimal:
        """Realized plus unrealized, before fees and funding."""
        return self.realized + self.unrealized

    @property
    def net(self) -> Decimal:
        """What the symbol did for the account: ``total - commission + funding``."""
        return self.total - self.commission + self.funding


@final
@attrs.frozen(kw_only=True)
class PaperAccount:
    """The account at one instant (one margin asset, cross margin).

    Attributes:
        asset: The margin asset (USDT).
        wallet_balance: Deposits plus realized PnL, minus commissions, plus funding.
        unrealized_pnl: Of every open position, at the mark prices.
        margin_balance: ``wallet_balance + unrealized_pnl``.
        position_initial_margin: Margin the positions hold.
        open_order_initial_margin: Margin reserved by open orders; released
            when they fill (it becomes position margin) or are canceled.
        maint_margin: Maintenance margin of the positions.
        available_balance: ``margin_balance`` minus both initial margins; an
            order that would take it below zero is refused with -2019.
        realized_pnl: Realized over the account's life, before fees.
        commission: Paid over the account's life.
        funding: Received over the account's life (negative: paid).
        positions: Every non-flat position.
    """

    asset: str
    wallet_balance: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    position_initial_margin: Decimal
    open_order_initial_margin: Decimal
    maint_margin: Decimal
    available_balance: Decimal
    realized_pnl: Decimal
    commission: Decimal
    funding: Decimal
    positions: tuple[PaperPosition, ...]


def position_snapshot(account: Account, pos: PositionState, mark: Decimal) -> PaperPosition:
    """Copy one position of ``account`` with its PnL and margin at ``mark``."""
    leverage = account.leverage_of(pos.symbol)
    return PaperPosition(
        symbol=pos.symbol,
        position_side=pos.side,
        amount=pos.amount,
        entry_price=pos.entry_price,
        mark_price=mark,
        unrealized_pnl=pos.unrealized(mark),
        realized_pnl=pos.realized,
        commission=pos.commission,
        funding=pos.funding,
        leverage=leverage,
        initial_margin=abs(pos.amount) * mark / leverage,
    )


def account_snapshot(
    account: Account,
    open_orders: Iterable[SimOrder],
    marks: Mapping[str, Decimal],
    maint_rates: Mapping[str, Decimal],
) -> PaperAccount:
    """Copy ``account`` with its margin arithmetic done at ``marks``."""
    orders = list(open_orders)
    unrealized = account.unrealized(marks)
    position_im = account.position_margin(marks)
    order_im = account.order_margin(orders, marks)
    live = [p for p in account.positions.values() if p.amount != 0]
    maint = sum(
        (abs(p.amount) * marks[p.symbol] * maint_rates.get(p.symbol, _ZERO) for p in live), _ZERO
    )
    return PaperAccount(
        asset=account.asset,
        wallet_balance=account.wallet,
        unrealized_pnl=unrealized,
        margin_balance=account.wallet + unrealized,
        position_initial_margin=position_im,
        open_order_initial_margin=order_im,
        maint_margin=maint,
        available_balance=account.available(orders, marks),
        realized_pnl=account.realized_total,
        commission=account.fees_total,
        funding=account.funding_total,
        positions=tuple(position_snapshot(account, p, marks[p.symbol]) for p in live),
    )
