"""Fan-out of order events to subscribers on bounded channels.

Publishing never blocks an order actor: each subscriber has its own bounded
channel, and an event that does not fit is counted in ``dropped`` (visible in
the executor's statistics) rather than stalling order handling.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from trio_fapi.protocol.messages import OrderEvent

__all__ = ["EventBus"]


class EventBus:
    """Owned by the executor; order actors call :meth:`publish`."""

    def __init__(self) -> None:
        self._subscribers: list[trio.MemorySendChannel[OrderEvent]] = []
        self.dropped = 0

    def publish(self, event: OrderEvent) -> None:
        """Deliver ``event`` to every subscriber that has room."""
        for channel in list(self._subscribers):
            try:
                channel.send_nowait(event)
            except trio.WouldBlock:
                self.dropped += 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.remove(channel)

    @asynccontextmanager
    async def subscribe(self, buffer: int) -> AsyncIterator[trio.MemoryReceiveChannel[OrderEvent]]:
        """A bounded receive channel that gets every event until the block exits."""
        send, receive = trio.open_memory_channel[OrderEvent](buffer)
        self._subscribers.append(send)
        try:
            async with receive:
                yield receive
        finally:
            if send in self._subscribers:
                self._subscribers.remove(send)
            send.close()
