"""The shape of a user-data stream connection, shared by the engine and the sim.

The engine's stream actor reads text frames from a :class:`StreamConnection`
that a :class:`StreamConnector` opens for a URL. Two implementations exist:
:class:`~trio_fapi.actors.websocket.WebSocketConnector` (trio-websocket, a real
socket) and the simulated exchange's in-process connector (memory channels, so
autojump tests run on virtual time). Both end a connection the same way: by
raising :class:`StreamClosed`, whatever the cause (server close, reset, a
handshake refused, an unknown listen key).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

__all__ = ["StreamClosed", "StreamConnection", "StreamConnector"]


class StreamClosed(Exception):
    """The stream connection ended (or could not be opened).

    Attributes:
        reason: Why, for logs and statistics; never holds the listen key.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StreamConnection(Protocol):
    """One open stream: text frames in, pings out."""

    async def get_message(self) -> str | bytes:
        """The next frame.

        Raises:
            StreamClosed: The connection ended.
        """
        ...

    async def ping(self) -> None:
        """Send a ping and return when its pong arrives (callers bound the wait).

        Raises:
            StreamClosed: The connection ended.
        """
        ...


class StreamConnector(Protocol):
    """Opens stream connections; the connection closes when the block exits."""

    def connect(self, url: str) -> AbstractAsyncContextManager[StreamConnection]:
        """Open ``url`` (``ws[s]://host/[private/]ws/<listenKey>``).

        Raises:
            StreamClosed: The connection could not be opened.
        """
        ...
