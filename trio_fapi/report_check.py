"""Compare a ``trio-fapi demo --report`` file with the simulator's ``GET /sim/ledger``.

The ledger is the exchange's ground truth; the report is what the engine
believes after the demo settled its orders. Under injected faults (lost
answers, 503 "Unknown error", delays, drops) the two agree only if the engine
resolved every ambiguous outcome by evidence, so this comparison is an
end-to-end check of invariants I3 (one order per intent) and I5 (the engine's
view converges on the exchange's).

Numbers are compared as exact Decimals read from fixed-point text, so ``"0"``
and ``"0.000"`` agree and ``"1E-3"`` is refused as malformed rather than
trusted.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from typing import final

import attrs

from trio_fapi.protocol.enums import OrderStatus
from trio_fapi.protocol.errors import InvalidNumber
from trio_fapi.protocol.numbers import parse_wire_amount

__all__ = ["Mismatch", "MismatchKind", "check_report"]


class MismatchKind(enum.Enum):
    """How a report and a ledger disagree about one order."""

    #: The exchange has the order; the engine does not know it (a lost intent, or a duplicate).
    MISSING_FROM_REPORT = "missing_from_report"
    #: The engine has the order; the exchange does not, and the engine never proved it unplaced.
    NOT_IN_LEDGER = "not_in_ledger"
    STATUS = "status"
    EXECUTED_QTY = "executed_qty"
    AVG_PRICE = "avg_price"
    ORDER_ID = "order_id"
    SYMBOL = "symbol"
    #: One client order id names two exchange orders: an intent was placed twice (I3).
    DUPLICATE_IN_LEDGER = "duplicate_in_ledger"
    DUPLICATE_IN_REPORT = "duplicate_in_report"
    #: A row that cannot be read (no client id, a number that is not fixed-point).
    MALFORMED = "malformed"


@final
@attrs.frozen(kw_only=True)
class Mismatch:
    """One disagreement, with both sides as printed (``None`` where a side has nothing)."""

    kind: MismatchKind
    client_order_id: str
    report: str | None = None
    ledger: str | None = None

    def __str__(self) -> str:
        sides = []
        if self.report is not None:
            sides.append(f"report={self.report}")
        if self.ledger is not None:
            sides.append(f"ledger={self.ledger}")
        detail = f" ({', '.join(sides)})" if sides else ""
        return f"{self.kind.value}: {self.client_order_id}{detail}"


#: Fields compared as exact amounts: report/ledger key -> mismatch kind.
_AMOUNTS = (("executedQty", MismatchKind.EXECUTED_QTY), ("avgPrice", MismatchKind.AVG_PRICE))


def check_report(
    report: object, ledger: object, *, only_session: str | None = None
) -> list[Mismatch]:
    """Every way the demo's report disagrees with the simulator's ledger.

    An order may be in the report and not in the ledger only when the engine
    proved it was never placed: status ``REJECTED`` and no ``orderId`` (the
    exchange refused it, or answered "no such order" after its window closed).
    Anything else the engine still holds in a local status (``UNKNOWN``,
    ``PENDING_NEW``) is unsettled, and is reported as a mismatch too.

    Args:
        report: The parsed report, ``{"orders": [...]}``.
        ledger: The parsed ``GET /sim/ledger`` body, ``{"orders": [...]}``.
        only_session: Compare only ledger orders whose client id starts with
            ``"<session>."``, for a simulator shared by several runs.

    Returns:
        The mismatches, ledger order first; empty when the two agree.
    """
    mismatches: list[Mismatch] = []
    ledger_rows = _rows(ledger, "ledger", mismatches)
    report_rows = _rows(report, "report", mismatches)
    if only_session is not None:
        prefix = f"{only_session}."
        ledger_rows = [(cid, row) for cid, row in ledger_rows if cid.startswith(prefix)]
    by_cid_ledger = _unique(ledger_rows, MismatchKind.DUPLICATE_IN_LEDGER, mismatches)
    by_cid_report = _unique(report_rows, MismatchKind.DUPLICATE_IN_REPORT, mismatches)
    for cid, exchange in by_cid_ledger.items():
        mine = by_cid_report.get(cid)
        if mine is None:
            mismatches.append(
                Mismatch(
                    kind=MismatchKind.MISSING_FROM_REPORT,
                    client_order_id=cid,
                    ledger=_describe(exchange),
                )
            )
            continue
        mismatches.extend(_compare(cid, mine, exchange))
    for cid, mine in by_cid_report.items():
        if cid in by_cid_ledger or _proven_unplaced(mine):
            continue
        mismatches.append(
            Mismatch(kind=MismatchKind.NOT_IN_LEDGER, client_order_id=cid, report=_describe(mine))
        )
    return mismatches


def _rows(
    document: object, side: str, mismatches: list[Mismatch]
) -> list[tuple[str, Mapping[str, object]]]:
    """The ``orders`` rows of a report or ledger, keyed by client order id."""
    orders = document.get("orders") if isinstance(document, Mapping) else None
    if not isinstance(orders, list):
        mismatches.append(_malformed("-", side, "no orders list"))
        return []
    rows: list[tuple[str, Mapping[str, object]]] = []
    for index, row in enumerate(orders):
        cid = row.get("clientOrderId") if isinstance(row, Mapping) else None
        if not isinstance(row, Mapping) or not isinstance(cid, str):
            mismatches.append(_malformed(f"#{index}", side, "row without a clientOrderId"))
            continue
        rows.append((cid, row))
    return rows


def _unique(
    rows: list[tuple[str, Mapping[str, object]]],
    kind: MismatchKind,
    mismatches: list[Mismatch],
) -> dict[str, Mapping[str, object]]:
    """Rows by client id; each id seen twice is a mismatch (the first row is kept)."""
    counts = Counter(cid for cid, _ in rows)
    in_ledger = kind is MismatchKind.DUPLICATE_IN_LEDGER
    for cid, count in counts.items():
        if count > 1:
            text = f"{count} rows"
            mismatches.append(
                Mismatch(
                    kind=kind,
                    client_order_id=cid,
                    report=None if in_ledger else text,
                    ledger=text if in_ledger else None,
                )
            )
    out: dict[str, Mapping[str, object]] = {}
    for cid, row in rows:
        out.setdefault(cid, row)
    return out


def _compare(
    cid: str, mine: Mapping[str, object], exchange: Mapping[str, object]
) -> list[Mismatch]:
    out: list[Mismatch] = []
    for key, kind in (("status", MismatchKind.STATUS), ("symbol", MismatchKind.SYMBOL)):
        if mine.get(key) != exchange.get(key):
            out.append(_differs(kind, cid, mine.get(key), exchange.get(key)))
    # The report prints null for an order the engine never heard an id for.
    if mine.get("orderId") != exchange.get("orderId"):
        out.append(
            _differs(MismatchKind.ORDER_ID, cid, mine.get("orderId"), exchange.get("orderId"))
        )
    for key, kind in _AMOUNTS:
        ours, theirs = _amount(mine, key), _amount(exchange, key)
        if ours is None or theirs is None:
            out.append(
                Mismatch(
                    kind=MismatchKind.MALFORMED,
                    client_order_id=cid,
                    report=None if ours is not None else f"{key} not fixed-point",
                    ledger=None if theirs is not None else f"{key} not fixed-point",
                )
            )
        elif ours != theirs:
            out.append(_differs(kind, cid, mine.get(key), exchange.get(key)))
    return out


def _malformed(cid: str, side: str, text: str) -> Mismatch:
    return Mismatch(
        kind=MismatchKind.MALFORMED,
        client_order_id=cid,
        report=text if side == "report" else None,
        ledger=text if side == "ledger" else None,
    )


def _differs(kind: MismatchKind, cid: str, ours: object, theirs: object) -> Mismatch:
    return Mismatch(kind=kind, client_order_id=cid, report=_short(ours), ledger=_short(theirs))


def _amount(row: Mapping[str, object], key: str) -> Decimal | None:
    try:
        return parse_wire_amount(row.get(key), field=key)
    except InvalidNumber:
        return None


def _proven_unplaced(row: Mapping[str, object]) -> bool:
    """REJECTED with no exchange id: refused, or proven absent after its window."""
    return row.get("status") == OrderStatus.REJECTED.value and row.get("orderId") is None


def _describe(row: Mapping[str, object]) -> str:
    return " ".join(
        f"{key}={_short(row.get(key))}"
        for key in ("symbol", "orderId", "status", "executedQty", "avgPrice")
    )


def _short(value: object, limit: int = 40) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= limit else f"{text[:limit]}..."
