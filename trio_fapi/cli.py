"""The ``trio-fapi`` command: ``demo`` and ``sim``."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
import trio

__all__ = ["main"]


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
def demo(
    base_url: str | None, seconds: float, seed: int, report: Path | None, no_live: bool
) -> None:
    """Run several strategies at once, then print a summary."""
    from trio_fapi.demo import run_demo

    trio.run(
        lambda: run_demo(
            base_url=base_url, seconds=seconds, seed=seed, report=report, live=not no_live
        )
    )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--api-key", default="sim-key", show_default=True)
@click.option("--api-secret", default="sim-secret", show_default=True)
@click.option("--seed", default=0, show_default=True)
def sim(host: str, port: int, api_key: str, api_secret: str, seed: int) -> None:
    """Serve the simulated exchange over HTTP on a loopback address."""
    import attrs

    from trio_fapi.sim import default_config, serve_sim

    config = attrs.evolve(default_config(seed=seed), api_key=api_key, api_secret=api_secret)

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            bound = await nursery.start(
                lambda task_status: serve_sim(config, host=host, port=port, task_status=task_status)
            )
            click.echo(
                f"trio-fapi sim listening on http://{host}:{bound} (key {api_key})", err=True
            )

    with contextlib.suppress(KeyboardInterrupt):
        trio.run(serve)
