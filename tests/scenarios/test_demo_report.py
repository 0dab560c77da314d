"""The demo's report agrees with the sim's ledger, order for order, under injected faults.

The end-to-end form of invariants I3 and I5 (faults.md): ``trio-fapi sim
--faults ...`` loses, delays and drops order requests, ``trio-fapi demo
--report`` trades through them, and ``trio-fapi check-report`` finds no order
the two disagree about. The loopback run uses real sockets, so it runs on the
real clock (faults.md part d, item 1), bounded by ``trio.fail_after``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from click.testing import CliRunner, Result
from rich.console import Console

from trio_fapi.cli import main
from trio_fapi.demo import run_demo
from trio_fapi.report_check import Mismatch, MismatchKind, check_report
from trio_fapi.sim import default_config, parse_fault_spec, serve_sim

#: The fault mix of the README's soak example: 20% of order requests go wrong.
FAULT_SPEC = "seed=7,p503unknown=0.05,pdrop=0.05,plost=0.05,pdelay=0.05"


@pytest.mark.loopback
async def test_demo_report_matches_the_ledger_under_faults(tmp_path: Path) -> None:
    """Every ledger order is reported with its status, fill and price; nothing extra."""
    report = tmp_path / "report.json"
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                partial(
                    serve_sim, default_config(seed=0), faults=parse_fault_spec(FAULT_SPEC), port=0
                )
            )
            base_url = f"http://127.0.0.1:{port}"
            result = await run_demo(
                base_url=base_url,
                seconds=3,
                report=report,
                live=False,
                console=Console(file=io.StringIO(), width=140),
            )
            async with httpx.AsyncClient(base_url=base_url, trust_env=False) as http:
                ledger = (await http.get("/sim/ledger")).json()
                stats = (await http.get("/sim/stats")).json()
            # `trio-fapi check-report` itself, reading the live sim's ledger. It is
            # synchronous, so it runs in a thread while the sim keeps serving here.
            checked = [
                await trio.to_thread.run_sync(partial(check_report_cli, base_url, report, *extra))
                for extra in ((), ("--this-session-only",))
            ]
            nursery.cancel_scope.cancel()
    document = json.loads(report.read_text())
    assert stats["faults_injected"] > 0, "the run tested nothing: no fault was injected"
    assert ledger["orders"], "the demo placed nothing"
    assert result.unsettled == ()
    assert document["unsettled"] == []
    assert check_report(document, ledger) == []
    assert check_report(document, ledger, only_session=document["session"]) == []
    summary = (
        f"{len(ledger['orders'])} orders in the ledger, {len(document['orders'])} in the report"
    )
    for run in checked:
        assert run.exit_code == 0, run.output
        assert run.output == f"{summary}, 0 mismatches\n"


def check_report_cli(base_url: str, report: Path, *extra: str) -> Result:
    """Run ``trio-fapi check-report`` on ``report`` against the sim at ``base_url``."""
    return CliRunner().invoke(
        main, ["check-report", "--base-url", base_url, "--report", str(report), *extra]
    )


# -- the checker, one kind of disagreement at a time ---------------------------------------


def ledger_row(cid: str, **fields: object) -> dict[str, object]:
    """A ``/sim/ledger`` order row, as the sim prints it."""
    return {
        "orderId": 1000000001,
        "symbol": "BTCUSDT",
        "status": "FILLED",
        "clientOrderId": cid,
        "price": "59990.00",
        "avgPrice": "59990.00",
        "origQty": "0.002",
        "executedQty": "0.002",
        "cumQuote": "119.98000",
        "type": "LIMIT",
        **fields,
    }


def report_row(cid: str, **fields: object) -> dict[str, object]:
    """The same order as the demo reports it (``fmt`` drops nothing but may print fewer zeros)."""
    return {
        "strategy": "mm-btc",
        "symbol": "BTCUSDT",
        "clientOrderId": cid,
        "orderId": 1000000001,
        "status": "FILLED",
        "executedQty": "0.002",
        "avgPrice": "59990.0",
        "error": None,
        **fields,
    }


def docs(
    ledger: list[dict[str, object]], report: list[dict[str, object]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"orders": report, "session": "s1"}, {"orders": ledger}


def kinds(mismatches: list[Mismatch]) -> list[MismatchKind]:
    return [m.kind for m in mismatches]


class TestCheckReport:
    """check_report names each disagreement; agreeing documents give none."""

    def test_agreeing_documents(self) -> None:
        report, ledger = docs([ledger_row("s1.a.1")], [report_row("s1.a.1")])
        assert check_report(report, ledger) == []

    def test_zero_quantities_compare_by_value(self) -> None:
        report, ledger = docs(
            [ledger_row("s1.a.1", status="CANCELED", executedQty="0.000", avgPrice="0.00")],
            [report_row("s1.a.1", status="CANCELED", executedQty="0", avgPrice="0")],
        )
        assert check_report(report, ledger) == []

    def test_order_missing_from_report(self) -> None:
        report, ledger = docs([ledger_row("s1.a.1"), ledger_row("s1.a.2", orderId=2)], [])
        assert kinds(check_report(report, ledger)) == [MismatchKind.MISSING_FROM_REPORT] * 2

    def test_order_missing_from_ledger(self) -> None:
        report, ledger = docs([], [report_row("s1.a.1")])
        (mismatch,) = check_report(report, ledger)
        assert mismatch.kind is MismatchKind.NOT_IN_LEDGER
        assert mismatch.client_order_id == "s1.a.1"

    def test_order_proven_never_placed_may_be_missing_from_ledger(self) -> None:
        unplaced = report_row(
            "s1.a.1", orderId=None, status="REJECTED", executedQty="0", avgPrice="0"
        )
        report, ledger = docs([], [unplaced])
        assert check_report(report, ledger) == []

    @pytest.mark.parametrize(
        "row",
        [
            report_row("s1.a.1", orderId=None, status="UNKNOWN", executedQty="0", avgPrice="0"),
            report_row("s1.a.1", orderId=None, status="PENDING_NEW", executedQty="0"),
            report_row("s1.a.1", status="REJECTED"),  # rejected, yet the exchange gave an id
        ],
        ids=["unknown", "pending-new", "rejected-with-id"],
    )
    def test_unsettled_or_unproven_orders_must_be_in_ledger(self, row: dict[str, object]) -> None:
        report, ledger = docs([], [row])
        assert kinds(check_report(report, ledger)) == [MismatchKind.NOT_IN_LEDGER]

    @pytest.mark.parametrize(
        ("change", "kind"),
        [
            (partial(report_row, status="CANCELED"), MismatchKind.STATUS),
            (partial(report_row, status="UNKNOWN"), MismatchKind.STATUS),
            (partial(report_row, executedQty="0.001"), MismatchKind.EXECUTED_QTY),
            (partial(report_row, avgPrice="59990.1"), MismatchKind.AVG_PRICE),
            (partial(report_row, orderId=1000000002), MismatchKind.ORDER_ID),
            (partial(report_row, orderId=None), MismatchKind.ORDER_ID),
            (partial(report_row, symbol="ETHUSDT"), MismatchKind.SYMBOL),
            (partial(report_row, executedQty="2E-3"), MismatchKind.MALFORMED),
            (partial(report_row, avgPrice=59990.0), MismatchKind.MALFORMED),
        ],
        ids=[
            "status",
            "status-local",
            "qty",
            "avg-price",
            "order-id",
            "no-order-id",
            "symbol",
            "exponent-qty",
            "float-price",
        ],
    )
    def test_field_differs(
        self, change: Callable[[str], dict[str, object]], kind: MismatchKind
    ) -> None:
        report, ledger = docs([ledger_row("s1.a.1")], [change("s1.a.1")])
        (mismatch,) = check_report(report, ledger)
        assert mismatch.kind is kind
        assert mismatch.client_order_id == "s1.a.1"
        assert str(mismatch).startswith(f"{kind.value}: s1.a.1")

    def test_duplicate_client_id_in_ledger(self) -> None:
        # One intent, two exchange orders: the engine re-sent a placement (I3).
        report, ledger = docs(
            [ledger_row("s1.a.1"), ledger_row("s1.a.1", orderId=1000000002)],
            [report_row("s1.a.1")],
        )
        assert kinds(check_report(report, ledger)) == [MismatchKind.DUPLICATE_IN_LEDGER]

    def test_duplicate_client_id_in_report(self) -> None:
        report, ledger = docs([ledger_row("s1.a.1")], [report_row("s1.a.1")] * 2)
        assert kinds(check_report(report, ledger)) == [MismatchKind.DUPLICATE_IN_REPORT]

    def test_only_session_ignores_other_runs(self) -> None:
        report, ledger = docs(
            [ledger_row("s0.a.1", orderId=7), ledger_row("s1.a.1")], [report_row("s1.a.1")]
        )
        assert kinds(check_report(report, ledger)) == [MismatchKind.MISSING_FROM_REPORT]
        assert check_report(report, ledger, only_session="s1") == []

    @pytest.mark.parametrize(
        "document",
        [None, [], {"orders": "x"}, {"orders": [{"status": "NEW"}]}, {"orders": [7]}],
        ids=["null", "list", "orders-not-list", "row-without-id", "row-not-object"],
    )
    def test_unreadable_documents_are_mismatches(self, document: object) -> None:
        assert kinds(check_report(document, {"orders": []})) == [MismatchKind.MALFORMED]
        assert kinds(check_report({"orders": []}, document)) == [MismatchKind.MALFORMED]


class TestCheckReportCommand:
    """``trio-fapi check-report`` exits 1 on mismatches and lists them.

    These need ledgers no honest run produces, so ``/sim/ledger`` is scripted
    here; agreement (exit 0) is checked against a live sim, in the loopback
    test above.
    """

    def run(
        self, tmp_path: Path, ledger: dict[str, Any], report: dict[str, Any], *extra: str
    ) -> Any:
        path = tmp_path / "report.json"
        path.write_text(json.dumps(report))

        def fake_get(url: str, **kwargs: object) -> httpx.Response:
            assert url == "http://127.0.0.1:9/sim/ledger"
            assert kwargs.get("trust_env") is False
            return httpx.Response(200, json=ledger, request=httpx.Request("GET", url))

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(httpx, "get", fake_get)
            return CliRunner().invoke(
                main,
                [
                    "check-report",
                    "--base-url",
                    "http://127.0.0.1:9/",
                    "--report",
                    str(path),
                    *extra,
                ],
            )

    def test_mismatches_exit_one_and_are_listed(self, tmp_path: Path) -> None:
        report, ledger = docs(
            [ledger_row("s1.a.1"), ledger_row("s1.a.2", orderId=2)],
            [report_row("s1.a.1", status="NEW")],
        )
        result = self.run(tmp_path, ledger, report)
        assert result.exit_code == 1
        assert "status: s1.a.1 (report=NEW, ledger=FILLED)" in result.output
        assert "missing_from_report: s1.a.2" in result.output
        assert "2 mismatches" in result.output

    def test_this_session_only(self, tmp_path: Path) -> None:
        report, ledger = docs(
            [ledger_row("s0.a.1", orderId=7), ledger_row("s1.a.1")], [report_row("s1.a.1")]
        )
        assert self.run(tmp_path, ledger, report).exit_code == 1
        result = self.run(tmp_path, ledger, report, "--this-session-only")
        assert result.exit_code == 0, result.output
        assert "1 orders in the ledger, 1 in the report, 0 mismatches" in result.output
