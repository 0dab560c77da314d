"""Helpers shared by the actor tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

import trio


class Runnable(Protocol):
    """An actor started with ``await nursery.start(actor.run)``."""

    async def run(self, *, task_status: trio.TaskStatus[None] = ...) -> None:
        """Serve until cancelled."""


@asynccontextmanager
async def running(actor: Runnable) -> AsyncIterator[None]:
    """Run ``actor`` (started) for the duration of the block; stop it at the end."""
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        yield
        nursery.cancel_scope.cancel()
