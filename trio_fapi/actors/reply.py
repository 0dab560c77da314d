"""A one-shot reply slot: the cheapest way to answer one request in trio.

A ``trio.Event`` plus a value costs about half of a per-request memory channel
(reference/performance.md). ``send`` never blocks and never raises when the
requester has gone away: an abandoned slot is simply garbage, so a cancelled
strategy can never crash a shared actor (faults.md row 45).
"""

from __future__ import annotations

from typing import Generic, TypeVar

import trio

__all__ = ["OneShot"]

T = TypeVar("T")


class OneShot(Generic[T]):
    """Holds exactly one answer. The first ``send`` wins; later ones are ignored."""

    __slots__ = ("_event", "_value")

    def __init__(self) -> None:
        self._event = trio.Event()
        self._value: T | None = None

    def send(self, value: T, /) -> None:
        """Deliver the answer. Ignored if an answer was already delivered."""
        if self._event.is_set():
            return
        self._value = value
        self._event.set()

    @property
    def done(self) -> bool:
        """Whether an answer has been delivered."""
        return self._event.is_set()

    async def wait(self) -> T:
        """Wait for the answer."""
        await self._event.wait()
        return self._value  # type: ignore[return-value]
