"""Limit orders through the full engine, beside raw httpx on trio, same server, same run.

Each client places LIMIT BUY 0.002 BTCUSDT IOC orders priced below the market
(they expire at once, so nothing rests), against ``benchmarks/sim_server.py`` on
127.0.0.1. The server runs in its own process on CPU 1; this process is pinned to
CPU 0 (as in reference/performance.md). Per phase: a warm-up, then N sequential
orders and M orders with 32 in flight; latency per order, throughput, and this
process's CPU time per order. Two rounds, the second in reverse order.

    python benchmarks/bench_orders.py [--sequential 1000] [--concurrent 2000] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import httpx
import trio

from trio_fapi import Credentials, ExecutorConfig, OrderRequest, open_executor
from trio_fapi.actors.executor import Executor

KEY, SECRET = "sim-key", "sim-secret"
HERE = Path(__file__).resolve().parent
Place = Callable[[int], Awaitable[None]]
Result = dict[str, dict[str, float]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _phase(place: Place, count: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    counter = iter(range(count))

    async def worker() -> None:
        for i in counter:
            start = time.perf_counter_ns()
            await place(i)
            latencies.append((time.perf_counter_ns() - start) / 1000)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(worker)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    latencies.sort()
    return {
        "p50_us": statistics.median(latencies),
        "p99_us": latencies[int(0.99 * (len(latencies) - 1))],
        "orders_per_s": count / wall,
        "cpu_us_per_order": cpu * 1e6 / count,
    }


def _params(price: Decimal, cid: str) -> list[tuple[str, str]]:
    return [
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "IOC"),
        ("quantity", "0.002"),
        ("price", str(price)),
        ("newClientOrderId", cid),
    ]


async def _raw_httpx(
    base: str, price: Decimal, tag: str, seq: int, conc: int, warm: int
) -> dict[str, dict[str, float]]:
    """The floor for an httpx client: hand-signed requests on one AsyncClient."""
    async with httpx.AsyncClient(base_url=base) as client:

        async def place(i: int, prefix: str = "") -> None:
            params = [
                *_params(price, f"raw{tag}{prefix}{i}"),
                ("timestamp", str(int(time.time() * 1000))),
            ]
            query = urlencode(params)
            sig = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
            resp = await client.post(
                f"/fapi/v1/order?{query}&signature={sig}", headers={"X-MBX-APIKEY": KEY}
            )
            if resp.status_code != 200 or "orderId" not in resp.json():
                raise RuntimeError(f"raw httpx order failed: {resp.status_code} {resp.text[:200]}")

        await _phase(lambda i: place(i, "w"), warm, 1)
        out = {"sequential": await _phase(lambda i: place(i, "s"), seq, 1)}
        await _phase(lambda i: place(i, "v"), warm, 32)
        out["concurrent_32"] = await _phase(lambda i: place(i, "c"), conc, 32)
        return out


async def _engine(
    base: str, price: Decimal, tag: str, seq: int, conc: int, warm: int, workers: int
) -> dict[str, dict[str, float]]:
    """The full engine: validation, symbol actor, limiter, pool, signing, parsing."""
    config = ExecutorConfig(
        base_url=base,
        credentials=Credentials(api_key=KEY, api_secret=SECRET),
        rest_workers=workers,
        session=f"b{tag}",
        poll_interval_s=3600,
    )
    async with open_executor(config) as ex:

        def placer(label: str, ex: Executor = ex) -> Place:
            async def place(i: int) -> None:
                await ex.place_order(
                    OrderRequest.limit("BTCUSDT", "BUY", "0.002", price, time_in_force="IOC"),
                    strategy=f"{label}{i % 8}",
                )

            return place

        await _phase(placer("w"), warm, 1)
        out = {"sequential": await _phase(placer("s"), seq, 1)}
        await _phase(placer("v"), warm, 32)
        out["concurrent_32"] = await _phase(placer("c"), conc, 32)
        return out


async def _price(base: str) -> Decimal:
    async with httpx.AsyncClient(base_url=base) as client:
        book = (await client.get("/fapi/v1/ticker/bookTicker", params={"symbol": "BTCUSDT"})).json()
    return (Decimal(book["bidPrice"]) * Decimal("0.97")).quantize(Decimal("0.1"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sequential", type=int, default=1000)
    parser.add_argument("--concurrent", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    port = _free_port()
    pin = ["taskset", "-c", "1"] if os.cpu_count() and os.cpu_count() > 1 else []  # type: ignore[operator]
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, {0})
    server = subprocess.Popen(
        [*pin, sys.executable, str(HERE / "sim_server.py"), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise SystemExit("sim server did not start")
        base = f"http://127.0.0.1:{port}"
        price = trio.run(_price, base)
        jobs: list[tuple[str, Callable[[str], Awaitable[dict[str, dict[str, float]]]]]] = [
            (
                "raw httpx (trio)",
                lambda tag: _raw_httpx(
                    base, price, tag, args.sequential, args.concurrent, args.warmup
                ),
            ),
            (
                "engine, 4 workers",
                lambda tag: _engine(
                    base, price, tag, args.sequential, args.concurrent, args.warmup, 4
                ),
            ),
            (
                "engine, 32 workers",
                lambda tag: _engine(
                    base, price, tag, args.sequential, args.concurrent, args.warmup, 32
                ),
            ),
        ]
        results: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name, _ in jobs}
        for rnd in range(args.rounds):
            order = jobs if rnd % 2 == 0 else list(reversed(jobs))
            for name, job in order:
                results[name].append(trio.run(job, f"{rnd}{len(results[name])}{name[:3].strip()}"))
    finally:
        server.terminate()
        server.wait(timeout=10)
    _report(results, args)


def _report(
    results: dict[str, list[dict[str, dict[str, float]]]], args: argparse.Namespace
) -> None:
    def cell(name: str, phase: str, key: str, fmt: str = "{:,.0f}") -> str:
        return " / ".join(fmt.format(r[phase][key]) for r in results[name])

    print(
        f"\nsequential n={args.sequential}, 32 in flight n={args.concurrent},"
        f" rounds={args.rounds}\n"
    )
    print(
        "| client | seq p50 µs | seq p99 µs | seq CPU µs/order"
        " | conc 32 orders/s | conc 32 p50 µs | conc 32 CPU µs/order |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in results:
        row = [
            cell(name, phase, key)
            for phase, key in (
                ("sequential", "p50_us"),
                ("sequential", "p99_us"),
                ("sequential", "cpu_us_per_order"),
                ("concurrent_32", "orders_per_s"),
                ("concurrent_32", "p50_us"),
                ("concurrent_32", "cpu_us_per_order"),
            )
        ]
        print(f"| {name} | " + " | ".join(row) + " |")
    raw = results["raw httpx (trio)"]
    for name in results:
        if name.startswith("engine"):
            ratios = [
                e["concurrent_32"]["orders_per_s"] / r["concurrent_32"]["orders_per_s"]
                for e, r in zip(results[name], raw, strict=True)
            ]
            cpu = [
                e["sequential"]["cpu_us_per_order"] / r["sequential"]["cpu_us_per_order"]
                for e, r in zip(results[name], raw, strict=True)
            ]
            print(
                f"\n{name}: throughput ratio vs raw httpx at 32 in flight = "
                + " / ".join(f"{x:.2f}" for x in ratios)
                + "; sequential CPU ratio = "
                + " / ".join(f"{x:.2f}" for x in cpu)
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
