"""Fan-out of engine events to subscribers on bounded channels.

Publishing never blocks an order actor: each subscriber has its own bounded
channel. An event that does not fit is not delivered, but never silently:
the subscriber's next delivered item is an :class:`EventsDropped` with the
count, and the executor's statistics count every drop. Order state itself is
never lost (it lives in the order actors; ``Executor.orders()`` reads it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import trio

from trio_fapi.protocol.messages import EventsDropped, ExecutorEvent

__all__ = ["EventBus"]


@attrs.define(eq=False)
class _Subscriber:
    channel: trio.MemorySendChannel[ExecutorEvent]
    missed: int = 0


class EventBus:
    """Owned by the executor; actors call :meth:`publish`."""

    def __init__(self) -> None:
        self._subscribers: list[_Subscriber] = []
        self.dropped = 0

    def publish(self, event: ExecutorEvent) -> None:
        """Deliver ``event`` to every subscriber; tell the ones that were full."""
        for sub in list(self._subscribers):
            try:
                if sub.missed:
                    sub.channel.send_nowait(EventsDropped(count=sub.missed))
                    sub.missed = 0
                sub.channel.send_nowait(event)
            except trio.WouldBlock:
                sub.missed += 1
                self.dropped += 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.remove(sub)

    @asynccontextmanager
    async def subscribe(
        self, buffer: int
    ) -> AsyncIterator[trio.MemoryReceiveChannel[ExecutorEvent]]:
        """A bounded receive channel that gets every event until the block exits."""
        send, receive = trio.open_memory_channel[ExecutorEvent](buffer)
        sub = _Subscriber(send)
        self._subscribers.append(sub)
        try:
            async with receive:
                yield receive
        finally:
            if sub in self._subscribers:
                self._subscribers.remove(sub)
            send.close()
