"""User-data stream events in Binance's JSON shape (binance-fapi.md 8.2-8.4).

Pure: each builder reads the ledger *at the moment the ledger tells its
observers*, so an ``ACCOUNT_UPDATE`` after a fill shows the wallet and the
position just after that fill, not after the rest of the order's fills.

An event is built without its event time ``E``: the hub stamps ``E`` when it
sends the event, so that ``E`` strictly increases on a connection even when
several events share one millisecond (binance-fapi.md 8.1 says clients order
by ``E``). Numbers are printed by the same helpers as the REST answers, so a
position in an ``ACCOUNT_UPDATE`` reads exactly as in ``/fapi/v3/positionRisk``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import final

import attrs

from trio_fapi.protocol.enums import MarginType

from .accounts import PositionState
from .algo import AlgoUpdate
from .ledger import Ledger
from .records import Execution, FundingSettled, OrderChanged, money, quantized

__all__ = [
    "StreamEvent",
    "algo_update",
    "fill_account_update",
    "funding_account_update",
    "listen_key_expired",
    "order_trade_update",
]

_ZERO = Decimal(0)


@final
@attrs.frozen(kw_only=True)
class StreamEvent:
    """One event before it is stamped with ``E``.

    Attributes:
        event_type: The ``e`` field.
        body: Every other field but ``E``, in wire order (read-only).
        symbol: The symbol the event is about, for the fault record.
        client_id: The order's client id (or the algo order's), for the fault record.
    """

    event_type: str
    body: Mapping[str, object] = attrs.field(repr=False)
    symbol: str | None = None
    client_id: str | None = None

    def frame(self, event_ms: int) -> str:
        """The text frame, stamped with event time ``event_ms``."""
        payload = {"e": self.event_type, "E": event_ms, **self.body}
        return json.dumps(payload, separators=(",", ":"))


def _event(
    event_type: str, body: dict[str, object], symbol: str | None, client_id: str | None
) -> StreamEvent:
    return StreamEvent(
        event_type=event_type,
        body=MappingProxyType(body),
        symbol=symbol,
        client_id=client_id,
    )


def order_trade_update(changed: OrderChanged) -> StreamEvent:
    """``ORDER_TRADE_UPDATE``: ``{"e", "E", "T", "o"}`` with the ledger's own ``o``."""
    update = changed.update
    return _event(
        "ORDER_TRADE_UPDATE",
        {"T": update.transaction_time, "o": dict(update.o)},
        changed.order.symbol,
        changed.order.client_order_id,
    )


def algo_update(update: AlgoUpdate) -> StreamEvent:
    """``ALGO_UPDATE``: ``{"e", "E", "T", "o"}`` with the algo book's ``o``."""
    symbol = update.o.get("s")
    client_id = update.o.get("caid")
    return _event(
        "ALGO_UPDATE",
        {"T": update.event_time, "o": dict(update.o)},
        symbol if isinstance(symbol, str) else None,
        client_id if isinstance(client_id, str) else None,
    )


def listen_key_expired(key: str) -> StreamEvent:
    """``listenKeyExpired`` (``E`` as an integer, as the SDK models it)."""
    return _event("listenKeyExpired", {"listenKey": key}, None, None)


def _balance(ledger: Ledger, change: Decimal) -> dict[str, object]:
    """The margin asset's ``B`` entry; the single-asset account is all cross wallet."""
    account = ledger.account
    return {
        "a": account.asset,
        "wb": money(account.wallet),
        "cw": money(account.wallet),
        "bc": money(change),
    }


def _position(ledger: Ledger, pos: PositionState) -> dict[str, object]:
    """One ``P`` entry, printed as ``/fapi/v3/positionRisk`` prints the same position."""
    account = ledger.account
    symbol = pos.symbol
    spec = ledger.config.spec(symbol)
    assert spec is not None  # positions exist only for listed symbols
    mark = ledger.symbol_market(symbol).price
    isolated = account.margin_type_of(symbol) is MarginType.ISOLATED
    initial = abs(pos.amount * mark) / account.leverage_of(symbol)
    return {
        "s": symbol,
        "pa": quantized(pos.amount, spec.rules.lot_size.step_size),
        "ep": money(pos.entry_price),
        "bep": money(pos.entry_price),
        "cr": money(pos.realized),
        "up": money(pos.unrealized(mark)),
        "mt": "isolated" if isolated else "cross",
        "iw": money(initial if isolated else _ZERO),
        "ps": pos.side.value,
    }


def fill_account_update(ledger: Ledger, fill: Execution) -> StreamEvent:
    """``ACCOUNT_UPDATE`` reason ``ORDER`` after one fill: the wallet and the filled position.

    ``bc`` (balance change except PnL and commission) is 0: a fill moves the
    wallet only by its realized PnL and its commission.
    """
    pos = ledger.account.position(fill.symbol, fill.position_side)
    body: dict[str, object] = {
        "T": fill.time,
        "a": {
            "m": "ORDER",
            "B": [_balance(ledger, _ZERO)],
            "P": [_position(ledger, pos)],
        },
    }
    return _event("ACCOUNT_UPDATE", body, fill.symbol, fill.client_order_id)


def funding_account_update(ledger: Ledger, settled: FundingSettled) -> StreamEvent:
    """``ACCOUNT_UPDATE`` reason ``FUNDING_FEE`` after one funding payment.

    Binance sends only ``B`` for a crossed position and ``B`` plus that one
    position for an isolated one; ``S`` names the symbol (2026). The payment
    is neither PnL nor commission, so it is the ``bc`` **[derived]**.
    """
    account = ledger.account
    isolated = account.margin_type_of(settled.symbol) is MarginType.ISOLATED
    positions = (
        [_position(ledger, account.position(settled.symbol, settled.position_side))]
        if isolated
        else []
    )
    body: dict[str, object] = {
        "T": settled.time,
        "a": {
            "m": "FUNDING_FEE",
            "B": [_balance(ledger, settled.payment)],
            "P": positions,
            "S": settled.symbol,
        },
    }
    return _event("ACCOUNT_UPDATE", body, settled.symbol, None)
