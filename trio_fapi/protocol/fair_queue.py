"""A weighted fair queue: start-time fair queueing over per-flow FIFOs.

Every strategy is a flow with a share. A request's start tag is
``max(virtual time, the flow's last finish tag)`` and its finish tag adds
``cost / share``; the queue serves the lowest start tag. Over any busy period a
flow with twice the share gets twice the service, a flow that arrives late is
not owed for the time it was idle, and no flow can starve another however much
it queues (Goyal, Vin and Cheng, "Start-time Fair Queueing", 1996). Within a
flow, order is FIFO.

Entries can be withdrawn (a deadline passed) in O(1); they are dropped lazily
when they reach the head of their flow. Pure: no clock, no I/O.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["FairEntry", "FairQueue"]

T = TypeVar("T")


class FairEntry(Generic[T]):
    """One queued item with its tag; ``live`` is False once served or withdrawn."""

    __slots__ = ("cost", "flow", "item", "live", "start")

    def __init__(self, item: T, flow: str, cost: float, start: float) -> None:
        self.item = item
        self.flow = flow
        self.cost = cost
        self.start = start
        self.live = True


class FairQueue(Generic[T]):
    """Per-flow FIFOs served by weighted start-time fair queueing."""

    def __init__(self) -> None:
        self._flows: dict[str, deque[FairEntry[T]]] = {}
        self._finish: dict[str, float] = {}
        self._heads: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._vtime = 0.0
        self._live = 0
        self._live_by_flow: dict[str, int] = {}

    def __len__(self) -> int:
        return self._live

    def depth(self, flow: str) -> int:
        """Live entries of one flow."""
        return self._live_by_flow.get(flow, 0)

    def depth_by_flow(self) -> dict[str, int]:
        """Live entries per flow (flows with none are left out)."""
        return {flow: n for flow, n in self._live_by_flow.items() if n}

    def push(self, item: T, *, flow: str, cost: float, share: float) -> FairEntry[T]:
        """Queue ``item`` for ``flow``; ``cost / share`` advances the flow's tag."""
        if share <= 0:
            raise ValueError(f"share must be positive, got {share}")
        start = max(self._vtime, self._finish.get(flow, 0.0))
        self._finish[flow] = start + max(cost, 1e-9) / share
        entry = FairEntry(item, flow, cost, start)
        queue = self._flows.setdefault(flow, deque())
        queue.append(entry)
        if len(queue) == 1:
            heapq.heappush(self._heads, (start, next(self._seq), flow))
        self._live += 1
        self._live_by_flow[flow] = self._live_by_flow.get(flow, 0) + 1
        return entry

    def peek(self) -> FairEntry[T] | None:
        """The entry to serve next, or None when empty."""
        while self._heads:
            _, _, flow = self._heads[0]
            queue = self._flows[flow]
            while queue and not queue[0].live:
                queue.popleft()
            if queue and queue[0].start == self._heads[0][0]:
                return queue[0]
            heapq.heappop(self._heads)
            if queue:
                heapq.heappush(self._heads, (queue[0].start, next(self._seq), flow))
            else:
                self._drop_flow(flow)
        return None

    def pop(self) -> FairEntry[T]:
        """Remove and return the entry :meth:`peek` names.

        Raises:
            IndexError: The queue is empty.
        """
        entry = self.peek()
        if entry is None:
            raise IndexError("pop from an empty FairQueue")
        heapq.heappop(self._heads)
        queue = self._flows[entry.flow]
        queue.popleft()
        self._vtime = max(self._vtime, entry.start)
        self._retire(entry)
        while queue and not queue[0].live:
            queue.popleft()
        if queue:
            heapq.heappush(self._heads, (queue[0].start, next(self._seq), entry.flow))
        else:
            self._drop_flow(entry.flow)
        return entry

    def withdraw(self, entry: FairEntry[T]) -> None:
        """Take a live entry out of the queue (it is skipped when reached)."""
        if entry.live:
            self._retire(entry)

    def drain(self) -> Iterator[FairEntry[T]]:
        """Remove and yield every live entry (shutdown, ban)."""
        for queue in self._flows.values():
            for entry in queue:
                if entry.live:
                    self._retire(entry)
                    yield entry
        self._flows.clear()
        self._heads.clear()

    def _retire(self, entry: FairEntry[T]) -> None:
        entry.live = False
        self._live -= 1
        self._live_by_flow[entry.flow] -= 1

    def _drop_flow(self, flow: str) -> None:
        self._flows.pop(flow, None)
        if not self._live_by_flow.get(flow):
            self._live_by_flow.pop(flow, None)
        # An idle flow whose tag the virtual time has passed owes nothing: forget it.
        if self._finish.get(flow, 0.0) <= self._vtime:
            self._finish.pop(flow, None)
