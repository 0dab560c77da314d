"""The real stream connector: trio-websocket over TCP/TLS.

trio-websocket answers the server's pings itself; :meth:`ping` is the
engine's own liveness probe for a half-open socket. Every way a connection
can end (close frame, reset, refused handshake, DNS or TLS failure) surfaces
as :class:`~trio_fapi.protocol.stream_transport.StreamClosed` so the stream
actor has one thing to handle. The URL carries the listen key, so it is
never put into an exception message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
import trio_websocket

from trio_fapi.protocol.stream_transport import StreamClosed, StreamConnection

__all__ = ["WebSocketConnector"]

_FAILURES = (
    trio_websocket.ConnectionClosed,
    trio_websocket.HandshakeError,
    OSError,
    trio.BrokenResourceError,
)


class _Connection:
    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self._ws = ws

    async def get_message(self) -> str | bytes:
        try:
            return await self._ws.get_message()
        except _FAILURES as exc:
            raise StreamClosed(_describe(exc)) from None

    async def ping(self) -> None:
        try:
            await self._ws.ping()
        except _FAILURES as exc:
            raise StreamClosed(_describe(exc)) from None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, trio_websocket.ConnectionClosed):
        reason = exc.reason
        return "closed" if reason is None else f"closed: {reason.code} {reason.name}"
    if isinstance(exc, trio_websocket.HandshakeError):
        return f"handshake refused: {type(exc).__name__}"
    return f"{type(exc).__name__}"


class WebSocketConnector:
    """Opens ``ws://`` / ``wss://`` URLs with trio-websocket.

    Args:
        connect_timeout_s: Bound on the TCP + TLS + HTTP upgrade.
        message_queue_size: Frames buffered by trio-websocket before the
            socket read blocks (backpressure toward the exchange).
    """

    def __init__(self, *, connect_timeout_s: float = 10.0, message_queue_size: int = 64) -> None:
        self._connect_timeout_s = connect_timeout_s
        self._queue = message_queue_size

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[StreamConnection]:
        """Open ``url``; close it when the block exits."""
        try:
            async with trio_websocket.open_websocket_url(
                url,
                message_queue_size=self._queue,
                connect_timeout=self._connect_timeout_s,
                disconnect_timeout=2.0,
            ) as ws:
                yield _Connection(ws)
        except _FAILURES as exc:
            raise StreamClosed(_describe(exc)) from None
