"""The in-process user-data stream: a :class:`StreamConnector` without sockets.

:class:`SimStreamConnector` opens connections straight on the simulator's
hub, so the engine's stream actor runs unchanged on trio's virtual clock
(a real socket would make the autojump clock jump while it waits, faults.md
part d item 1). It takes the same URLs as the real connector; the host is
ignored:

- ``ws[s]://<host>/ws/<listenKey>`` (legacy),
- ``ws[s]://<host>/private/ws/<listenKey>`` (since the 2026 URL split),
- ``ws[s]://<host>/private/ws?listenKey=<listenKey>``.

A connection ends the way the real one does, with
:class:`~trio_fapi.protocol.stream_transport.StreamClosed`, whose reason
never holds the key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, final
from urllib.parse import parse_qs, urlsplit

import trio

from trio_fapi.protocol.stream_transport import StreamClosed, StreamConnection

from .stream_session import StreamSession

if TYPE_CHECKING:
    from .user_stream import UserStreamHub

__all__ = ["SimStreamConnection", "SimStreamConnector", "listen_key_from", "listen_key_from_url"]

_KEY_PREFIXES = ("/ws/", "/private/ws/")
_KEY_QUERY_PATH = "/private/ws"
_NOT_A_STREAM = "handshake refused: not a user-data stream URL"


def listen_key_from(path: str, query: str = "") -> str | None:
    """The listen key in a stream URL's path (or its ``listenKey`` query parameter).

    Returns:
        The key, or ``None`` when the path is not one of the stream forms.
    """
    for prefix in _KEY_PREFIXES:
        if path.startswith(prefix):
            key = path[len(prefix) :]
            return key if key and "/" not in key else None
    if path == _KEY_QUERY_PATH:
        values = parse_qs(query).get("listenKey")
        return values[0] if values and values[0] else None
    return None


def listen_key_from_url(url: str) -> str | None:
    """The listen key of a ``ws://`` or ``wss://`` stream URL (``None``: not one)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("ws", "wss"):
        return None
    return listen_key_from(parts.path, parts.query)


@final
class SimStreamConnection:
    """The client's end of one in-process stream connection."""

    def __init__(self, session: StreamSession) -> None:
        self._session = session

    def __repr__(self) -> str:
        return f"<SimStreamConnection {self._session.session_id} {self._session.state.value}>"

    async def get_message(self) -> str:
        """The next event frame (JSON text).

        Raises:
            StreamClosed: The connection ended.
        """
        return await self._session.next_frame()

    async def ping(self) -> None:
        """Return when the pong comes: at once, never while the stream is silenced.

        Raises:
            StreamClosed: The connection ended.
        """
        await self._session.pong()


@final
class SimStreamConnector:
    """Opens in-process connections to one simulator's user-data stream."""

    def __init__(self, hub: UserStreamHub) -> None:
        self._hub = hub

    def __repr__(self) -> str:
        return "<SimStreamConnector>"

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[StreamConnection]:
        """Open ``url``; the connection closes when the block exits.

        Raises:
            StreamClosed: The URL is not a stream URL, or its key is unknown
                or expired, or the simulator has shut down.
        """
        await trio.lowlevel.checkpoint()
        key = listen_key_from_url(url)
        if key is None:
            raise StreamClosed(_NOT_A_STREAM)
        session = self._hub.open(key)
        try:
            yield SimStreamConnection(session)
        finally:
            self._hub.release(session)
