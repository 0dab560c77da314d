"""Run the executor on a paper broker, in-process.

``open_paper_venue`` starts the broker's callback dispatcher and any feeds in
their own nursery and yields what ``open_executor`` needs::

    async with open_paper_venue(broker, feeds=[RandomWalkFeed()]) as venue:
        async with open_executor(venue.config, transport=venue.transport) as ex:
            ...

Like the simulated exchange, the venue runs outside the executor: the
executor's shutdown drains against a venue that is still there, and a request
the executor gives up on has still been applied.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import final

import attrs
import trio

from trio_fapi.config import ExecutorConfig

from .broker import PaperBroker
from .feeds import MarketFeed
from .transport import PaperTransport

__all__ = ["PaperVenue", "open_paper_venue"]


@final
@attrs.frozen(kw_only=True, eq=False)
class PaperVenue:
    """What :func:`open_paper_venue` yields.

    Attributes:
        broker: The paper broker (its account, positions, callbacks, market data).
        config: An executor config pointing at the broker (its keys, its URL).
        transport: The httpx transport into the broker, for ``open_executor``.
    """

    broker: PaperBroker
    config: ExecutorConfig
    transport: PaperTransport


@asynccontextmanager
async def open_paper_venue(
    broker: PaperBroker | None = None,
    *,
    feeds: Sequence[MarketFeed] = (),
    **executor_overrides: object,
) -> AsyncIterator[PaperVenue]:
    """Run a paper broker's dispatcher and feeds for the duration of the block.

    Args:
        broker: The broker; a default one (100,000 USDT, the default symbols)
            when omitted.
        feeds: Market-data feeds to run, e.g. ``RandomWalkFeed()``.
        executor_overrides: Fields for the yielded :class:`ExecutorConfig`.
    """
    venue_broker = broker if broker is not None else PaperBroker({"USDT": 100_000})
    async with trio.open_nursery() as nursery:
        await nursery.start(venue_broker.run)
        for feed in feeds:
            await nursery.start(feed.run, venue_broker)
        try:
            yield PaperVenue(
                broker=venue_broker,
                config=venue_broker.executor_config(**executor_overrides),
                transport=venue_broker.transport,
            )
        finally:
            nursery.cancel_scope.cancel()
