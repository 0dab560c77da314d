"""The real stream connector: trio-websocket over TCP/TLS.

trio-websocket answers the server's pings itself; :meth:`ping` is the
engine's own liveness probe for a half-open socket. Every way a connection
can end (close frame, reset, refused handshake, DNS or TLS failure) surfaces
as :class:`~trio_fapi.protocol.stream_transport.StreamClosed` so the stream
actor has one thing to handle.

The connector opens the TCP (or TLS) stream itself and hands it to
``trio_websocket.wrap_client_stream``, so it can close the socket in every
case: trio-websocket's own ``open_websocket_url`` leaves the socket open when
the server closes first or refuses the handshake, one file descriptor per
reconnect. The URL carries the listen key, a secret (faults.md row 64): it is
never put into an exception message, and the engine's log filter removes it
from trio-websocket's own log records.
"""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import trio
import trio_websocket

from trio_fapi.protocol.stream_transport import StreamClosed, StreamConnection

from ._redact import install_log_redaction

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


@asynccontextmanager
async def _unwrapped() -> AsyncIterator[None]:
    """Re-raise a lone exception out of the connection's nursery as itself.

    The nursery (trio-websocket's reader task) is an implementation detail:
    callers catch :class:`StreamClosed`, or their own exception, not a group.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        leaves = group.exceptions
        while len(leaves) == 1 and isinstance(leaves[0], BaseExceptionGroup):
            leaves = leaves[0].exceptions
        if len(leaves) == 1:
            leaf = leaves[0]
            if isinstance(leaf, _FAILURES):
                # e.g. the reader task saw the handshake refused
                raise StreamClosed(_describe(leaf)) from None
            raise leaf from None
        raise


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
        install_log_redaction()

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[StreamConnection]:
        """Open ``url``; close it, socket included, when the block exits."""
        parts = urlsplit(url)
        secure = parts.scheme == "wss"
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise StreamClosed("not a ws:// or wss:// URL")
        host = parts.hostname
        port = parts.port or (443 if secure else 80)
        resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        stream: trio.SocketStream | trio.SSLStream[trio.SocketStream]
        try:
            with trio.fail_after(self._connect_timeout_s):
                if secure:
                    stream = await trio.open_ssl_over_tcp_stream(
                        host, port, ssl_context=ssl.create_default_context(), https_compatible=True
                    )
                else:
                    stream = await trio.open_tcp_stream(host, port)
        except (OSError, trio.TooSlowError) as exc:
            raise StreamClosed(f"connect failed: {type(exc).__name__}") from None
        try:
            async with _unwrapped(), trio.open_nursery() as nursery:
                try:
                    with trio.fail_after(self._connect_timeout_s):
                        ws = await trio_websocket.wrap_client_stream(
                            nursery, stream, host, resource, message_queue_size=self._queue
                        )
                except (*_FAILURES, trio.TooSlowError) as exc:
                    raise StreamClosed(_describe(exc)) from None
                try:
                    yield _Connection(ws)
                finally:
                    if trio.current_effective_deadline() != -math.inf:
                        # A close handshake needs the reader task, which a
                        # cancellation has already stopped: then the socket
                        # is simply closed below.
                        with trio.CancelScope(shield=True), trio.move_on_after(2.0):
                            await ws.aclose()
                    nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(stream)
