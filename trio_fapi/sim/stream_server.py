"""The user-data stream over loopback WebSocket (ASGI ``websocket`` scopes).

Each accepted WebSocket is one session of the same hub the in-process
connector uses, so both front ends send the same events with the same faults.
A refused handshake (no key, unknown or expired key) is an HTTP 403 before
the upgrade; a connection the server ends gets a close frame (1001, "going
away") whose reason names the cause, never the key.

Pings are answered by hypercorn itself (wsproto answers a Ping in its protocol
layer, out of reach of an ASGI application), so a silenced connection over
loopback stops sending events but keeps answering pings: only the in-process
connector models a half-open socket whose pongs stop too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import trio

from trio_fapi.protocol.stream_transport import StreamClosed

from .stream_connector import listen_key_from
from .stream_session import StreamSession
from .user_stream import UserStreamHub

__all__ = ["serve_stream"]

_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]
_GOING_AWAY = 1001
_POLICY_VIOLATION = 1008
#: How long a close frame may take to go out before the connection is just dropped.
_CLOSE_GRACE_S = 1.0


async def serve_stream(
    hub: UserStreamHub, scope: MutableMapping[str, Any], receive: _Receive, send: _Send
) -> None:
    """Serve one ASGI ``websocket`` scope until either side ends it."""
    if (await receive())["type"] != "websocket.connect":
        return
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    try:
        session = hub.open(listen_key_from(str(scope["path"]), query))
    except StreamClosed:
        await send({"type": "websocket.close", "code": _POLICY_VIOLATION})
        return
    try:
        await send({"type": "websocket.accept"})
        client_gone = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_watch_client, hub, session, receive, client_gone)
            nursery.start_soon(_pump, session, send)
            # Watched apart from the pump, which may be stuck sending to a
            # client that stopped reading when the hub drops it as too slow.
            reason = await session.wait_closed()
            if not client_gone.is_set():
                # The server ends it. When the client closed first, the server
                # answers its close frame by returning, with no close of its own.
                with trio.move_on_after(_CLOSE_GRACE_S):
                    await send({"type": "websocket.close", "code": _GOING_AWAY, "reason": reason})
            nursery.cancel_scope.cancel()
    finally:
        hub.release(session)


async def _pump(session: StreamSession, send: _Send) -> None:
    """Send frames as they become due, until the session ends."""
    try:
        while True:
            frame = await session.next_frame()
            await send({"type": "websocket.send", "text": frame})
    except StreamClosed:
        return


async def _watch_client(
    hub: UserStreamHub, session: StreamSession, receive: _Receive, gone: trio.Event
) -> None:
    """Read (and ignore) what the client sends, until it goes away."""
    while (await receive())["type"] != "websocket.disconnect":
        pass
    gone.set()
    hub.release(session)
