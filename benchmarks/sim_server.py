"""A loopback sim server for benchmarks: rate limits raised so they never bind.

Run as ``python benchmarks/sim_server.py PORT``; it prints ``ready`` once listening.
"""

from __future__ import annotations

import sys

import attrs
import trio

from trio_fapi.protocol.filters import RateLimit
from trio_fapi.sim import default_config, serve_sim

UNBOUNDED = (
    RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=10_000_000),
    RateLimit(kind="ORDERS", interval="SECOND", interval_num=10, limit=10_000_000),
    RateLimit(kind="ORDERS", interval="MINUTE", interval_num=1, limit=10_000_000),
)


async def main(port: int) -> None:
    config = attrs.evolve(default_config(seed=3), rate_limits=UNBOUNDED)
    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: serve_sim(config, port=port, task_status=task_status)
        )
        print("ready", flush=True)


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]))
