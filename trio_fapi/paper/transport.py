"""An httpx transport into the paper venue, so the executor can trade on it.

``open_executor(config, transport=broker.transport)`` sends every request to
the paper broker's simulated exchange in-process: the same routes, signatures,
rate limits and Binance-shaped answers as the simulated exchange, against the
paper broker's own ledger. Requests pay the broker's simulated latency.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from trio_fapi.sim.api import SimRequest, SimResponse

__all__ = ["PAPER_BASE_URL", "PaperTransport"]

#: Where executors trading on a paper broker point (the host never resolves).
PAPER_BASE_URL = "http://paper.invalid"


class PaperTransport(httpx.AsyncBaseTransport):
    """Hands each request to the paper venue and returns its answer.

    The venue applies a request atomically in the caller's task, after the
    outbound half of the simulated latency. A caller cancelled on the way back
    gives up on the answer only: the venue has already acted, as on a real
    exchange, and the executor resolves such an order by evidence.
    """

    def __init__(self, serve: Callable[[SimRequest], Awaitable[SimResponse]]) -> None:
        self._serve = serve

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request to the venue and wait for its answer."""
        answer = await self._serve(await SimRequest.from_httpx(request))
        return answer.to_httpx(request)
