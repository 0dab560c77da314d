"""Fill and order callbacks: each told every event once, in order, sync or async.

The ledger tells the broker what happened the moment it happens, from inside a
synchronous state change, where no user code may run (a raising callback would
leave the venue half-updated). So the hub only *records* events there, and
delivers them afterwards:

- synchronous callbacks at the end of the synchronous call that caused the
  events (``update_market_data``), or at the next delivery point;
- every callback, sync or async, at the end of the broker's async calls
  (``place_order``, ``cancel_order``, ``flush_callbacks``), and from the
  broker's dispatcher task (:meth:`CallbackHub.run`) when one is running.

Each callback keeps its own cursor into one event log, so it sees every event
exactly once, in the order they happened, whichever path delivers it. A
callback that calls back into the broker does not recurse: the delivery
already running picks the new events up. An exception from a callback
propagates to whoever was delivering; the event counts as delivered to it.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import attrs
import trio

from .orders import PaperFill, PaperOrder

__all__ = ["CallbackHub", "FillCallback", "OrderCallback"]

#: Called with each fill: a plain function or an ``async def``.
FillCallback = Callable[[PaperFill], Awaitable[None] | None]
#: Called with each order change (a snapshot just after it): plain or ``async def``.
OrderCallback = Callable[[PaperOrder], Awaitable[None] | None]

_E = TypeVar("_E", PaperFill, PaperOrder)
_Event = PaperFill | PaperOrder


def _is_async(fn: Callable[..., object]) -> bool:
    call = getattr(fn, "__call__", None)  # noqa: B004 - a callable object's async __call__
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


@attrs.define(eq=False)
class _Subscriber(Generic[_E]):
    kind: type[_E]
    fn: Callable[[_E], Awaitable[None] | None]
    is_async: bool
    cursor: int


@attrs.define(eq=False)
class CallbackHub:
    """The event log and the callbacks reading it."""

    _events: deque[_Event] = attrs.field(factory=deque)
    _base: int = 0
    _subscribers: list[_Subscriber[PaperFill] | _Subscriber[PaperOrder]] = attrs.field(factory=list)
    _lock: trio.Lock = attrs.field(factory=trio.Lock)
    _delivering: trio.lowlevel.Task | None = None
    _in_sync_callback: bool = False
    _wakeup: trio.Event | None = None

    @property
    def _end(self) -> int:
        return self._base + len(self._events)

    # -- registering and recording ------------------------------------------------

    def on_fill(self, fn: FillCallback) -> None:
        """Call ``fn`` with every fill from now on."""
        self._subscribers.append(_Subscriber(PaperFill, fn, _is_async(fn), self._end))

    def on_order(self, fn: OrderCallback) -> None:
        """Call ``fn`` with every order change from now on."""
        self._subscribers.append(_Subscriber(PaperOrder, fn, _is_async(fn), self._end))

    def publish(self, event: PaperFill | PaperOrder) -> None:
        """Record one event (never runs a callback); wake the dispatcher."""
        self._events.append(event)
        if self._wakeup is not None:
            self._wakeup.set()

    def pending(self, *, sync_only: bool = False) -> bool:
        """Whether some callback has events it has not been given yet."""
        end = self._end
        return any(s.cursor < end for s in self._subscribers if not (sync_only and s.is_async))

    # -- delivering ---------------------------------------------------------------

    def _next(
        self, *, sync_only: bool
    ) -> tuple[_Subscriber[PaperFill] | _Subscriber[PaperOrder], _Event] | None:
        """The earliest undelivered event and who gets it; claims it."""
        end = self._end
        while True:
            candidates = [
                s for s in self._subscribers if s.cursor < end and not (sync_only and s.is_async)
            ]
            if not candidates:
                return None
            sub = min(candidates, key=lambda s: s.cursor)
            event = self._events[sub.cursor - self._base]
            sub.cursor += 1
            if isinstance(event, sub.kind):
                return sub, event

    def deliver_sync(self) -> None:
        """Give the synchronous callbacks what they have not seen yet."""
        if self._in_sync_callback:
            return  # a callback called into the broker: the outer loop continues
        try:
            while (found := self._next(sync_only=True)) is not None:
                self._call_sync(*found)
        finally:
            self._trim()

    async def deliver(self) -> None:
        """Give every callback what it has not seen yet, awaiting async ones."""
        me = trio.lowlevel.current_task()
        if self._in_sync_callback or self._delivering is me:
            return  # called from inside a callback: the running delivery continues
        async with self._lock:
            self._delivering = me
            try:
                while (found := self._next(sync_only=False)) is not None:
                    sub, event = found
                    if sub.is_async:
                        result = sub.fn(event)  # type: ignore[arg-type]
                        if result is not None:
                            await result
                    else:
                        self._call_sync(sub, event)
            finally:
                self._delivering = None
                self._trim()

    def _call_sync(
        self, sub: _Subscriber[PaperFill] | _Subscriber[PaperOrder], event: _Event
    ) -> None:
        self._in_sync_callback = True
        try:
            result = sub.fn(event)  # type: ignore[arg-type]
        finally:
            self._in_sync_callback = False
        if inspect.isawaitable(result):
            close = getattr(result, "close", None)
            if close is not None:
                close()
            raise TypeError(
                f"callback {sub.fn!r} returned an awaitable; register an async def instead"
            )

    def _trim(self) -> None:
        oldest = min((s.cursor for s in self._subscribers), default=self._end)
        while self._base < oldest and self._events:
            self._events.popleft()
            self._base += 1

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Deliver events as they come, until cancelled (the broker's dispatcher)."""
        task_status.started()
        while True:
            await self.deliver()
            wakeup = self._wakeup = trio.Event()
            if not self.pending():
                await wakeup.wait()
