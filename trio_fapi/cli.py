"""The ``trio-fapi`` command: ``demo``, ``check-report``, ``sim`` and ``bench``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import trio

__all__ = ["main"]

_F = TypeVar("_F", bound=Callable[..., Any])


@click.group()
@click.version_option(package_name="trio-fapi")
def main() -> None:
    """A Trio-native execution engine for Binance USD-M Futures."""


@main.command()
@click.option(
    "--base-url", default=None, help="A Binance-compatible REST endpoint (default: embedded sim)."
)
@click.option("--seconds", default=10.0, show_default=True, help="How long the strategies trade.")
@click.option("--seed", default=7, show_default=True, help="Seed for the sim and for jitter.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a JSON report of every order placed.",
)
@click.option("--no-live", is_flag=True, help="Print only the summary.")
@click.option(
    "--paper",
    is_flag=True,
    help="Trade on an in-process paper broker (random-walk market, simulated latency).",
)
def demo(
    base_url: str | None,
    seconds: float,
    seed: int,
    report: Path | None,
    no_live: bool,
    paper: bool,
) -> None:
    """Run several strategies at once, then print a summary."""
    from trio_fapi.demo import run_demo

    if paper and base_url is not None:
        raise click.UsageError("--paper trades in-process; it cannot be combined with --base-url")
    trio.run(
        lambda: run_demo(
            base_url=base_url,
            seconds=seconds,
            seed=seed,
            report=report,
            live=not no_live,
            paper=paper,
        )
    )


@main.command("check-report")
@click.option(
    "--base-url", required=True, help="The trio-fapi sim the demo traded on (serves /sim/ledger)."
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    required=True,
    help="The file `trio-fapi demo --report` wrote.",
)
@click.option(
    "--this-session-only",
    is_flag=True,
    help="Ignore ledger orders of other runs (a sim shared by several demos).",
)
def check_report_command(base_url: str, report: Path, this_session_only: bool) -> None:
    """Compare a demo report with the sim's ledger, order for order; exit 1 on any mismatch."""
    import json

    import httpx

    from trio_fapi.report_check import check_report

    try:
        document = json.loads(report.read_text())
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--report") from None
    try:
        # Never through a proxy from the environment: the sim listens on loopback.
        answer = httpx.get(f"{base_url.rstrip('/')}/sim/ledger", timeout=10.0, trust_env=False)
        answer.raise_for_status()
        ledger = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise click.ClickException(f"could not read {base_url}/sim/ledger: {exc}") from None
    session = document.get("session") if isinstance(document, dict) else None
    if this_session_only and not isinstance(session, str):
        raise click.BadParameter("the report names no session", param_hint="--this-session-only")
    mismatches = check_report(document, ledger, only_session=session if this_session_only else None)
    n_report = len(document.get("orders", [])) if isinstance(document, dict) else 0
    rows = ledger.get("orders", []) if isinstance(ledger, dict) else []
    if this_session_only:
        prefix = f"{session}."
        rows = [
            r
            for r in rows
            if isinstance(r, dict) and str(r.get("clientOrderId")).startswith(prefix)
        ]
    for mismatch in mismatches:
        click.echo(str(mismatch))
    click.echo(
        f"{len(rows)} orders in the ledger, {n_report} in the report, {len(mismatches)} mismatches",
        err=bool(mismatches),
    )
    if mismatches:
        raise SystemExit(1)


def _positive(flag: str, default: int, help_text: str) -> Callable[[_F], _F]:
    """A whole-number option of at least 1, with its default shown."""
    return click.option(
        flag, type=click.IntRange(min=1), default=default, show_default=True, help=help_text
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--api-key", default="sim-key", show_default=True)
@click.option("--api-secret", default="sim-secret", show_default=True)
@click.option("--seed", default=0, show_default=True)
@_positive("--weight-per-1m", 2400, "REQUEST_WEIGHT limit per minute (per IP).")
@_positive("--orders-per-10s", 300, "ORDERS limit per 10 seconds (per account).")
@_positive("--orders-per-1m", 1200, "ORDERS limit per minute (per account).")
@_positive("--ban-after", 3, "Requests refused during a running Retry-After before a 418 IP ban.")
@_positive("--ban-s", 120, "First ban length in seconds; each further ban doubles, up to 3 days.")
@click.option(
    "--faults",
    "fault_spec",
    default=None,
    metavar="SPEC",
    help="Faults to inject, e.g. seed=7,p503unknown=0.05,pdrop=0.05 (see docs/testing.md).",
)
def sim(
    host: str,
    port: int,
    api_key: str,
    api_secret: str,
    seed: int,
    weight_per_1m: int,
    orders_per_10s: int,
    orders_per_1m: int,
    ban_after: int,
    ban_s: int,
    fault_spec: str | None,
) -> None:
    """Serve the simulated exchange over HTTP on a loopback address."""
    import attrs

    from trio_fapi.protocol.filters import RateLimit
    from trio_fapi.sim import BanPolicy, default_config, parse_fault_spec, serve_sim

    try:
        faults = parse_fault_spec(fault_spec) if fault_spec else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    config = attrs.evolve(
        default_config(seed=seed),
        api_key=api_key,
        api_secret=api_secret,
        rate_limits=(
            RateLimit(
                kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=weight_per_1m
            ),
            RateLimit(kind="ORDERS", interval="SECOND", interval_num=10, limit=orders_per_10s),
            RateLimit(kind="ORDERS", interval="MINUTE", interval_num=1, limit=orders_per_1m),
        ),
        ban_policy=BanPolicy(violations=ban_after, first_ban_s=ban_s),
    )

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            bound = await nursery.start(
                lambda task_status: serve_sim(
                    config, faults=faults, host=host, port=port, task_status=task_status
                )
            )
            click.echo(
                f"trio-fapi sim listening on http://{host}:{bound} (key {api_key})", err=True
            )

    with contextlib.suppress(KeyboardInterrupt):
        trio.run(serve)


@main.group()
def bench() -> None:
    """Benchmarks that run in-process, on virtual time."""


@bench.command("limiter")
@click.option("--strategies", type=click.IntRange(min=1), default=50, show_default=True)
@click.option(
    "--demand",
    type=click.FloatRange(min=0, min_open=True),
    default=3.0,
    show_default=True,
    help="Each strategy asks for this many times its fair share of the windows.",
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Virtual seconds of trading.",
)
@click.option("--seed", default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_limiter(strategies: int, demand: float, seconds: float, seed: int, as_json: bool) -> None:
    """Many strategies share one account's order windows: throughput, 429s, fairness."""
    import json

    from trio_fapi.bench.limiter import run_limiter_bench

    result = run_limiter_bench(strategies=strategies, demand=demand, seconds=seconds, seed=seed)
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    for key, value in result.to_json().items():
        shown = f"{value:.4f}" if isinstance(value, float) else str(value)
        click.echo(f"{key:>18}  {shown}")
