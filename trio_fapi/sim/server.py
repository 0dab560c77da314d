"""The simulator on loopback HTTP, for clients that bring their own HTTP stack.

A small raw ASGI app (no framework) served by hypercorn's trio worker. Each
HTTP request becomes a :class:`~trio_fapi.sim.api.SimRequest` sent to the same
actor :func:`~trio_fapi.sim.actor.open_sim` runs, so the loopback exchange and
the in-process one behave the same, faults included. It binds to loopback
only unless told otherwise: the simulator accepts a well-known key and must
not face a network.

A fault that severs the connection (a dropped request, a lost answer) cannot
refuse a connection hypercorn has already accepted, so both look the same on
this wire: the status line and a ``Content-Length`` go out, no body follows,
and the connection closes. Clients see a broken read (httpx raises
``RemoteProtocolError``, requests a ``ConnectionError``); whether the exchange
acted shows in ``/sim/ledger``.

WebSocket upgrades at ``/ws/<listenKey>``, ``/private/ws/<listenKey>`` and
``/private/ws?listenKey=<listenKey>`` serve the user-data stream from the same
hub as the in-process connector (:mod:`.stream_server`), so
``ws://<host>:<port>`` is the stream base URL of a loopback simulator.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from typing import Any, cast

import h11
import httpx
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from .actor import SimHandle, open_sim
from .api import SimRequest
from .config import SimConfig
from .faults import FaultPlan
from .injector import Severed
from .stream_server import serve_stream

__all__ = ["SimAsgiApp", "serve_sim"]

_LOG = logging.getLogger("trio_fapi.sim.server")
_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SimAsgiApp:
    """An ASGI application: HTTP requests to the simulator, WebSockets to its user stream."""

    def __init__(self, sim: SimHandle) -> None:
        self._sim = sim

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        """Serve one ASGI connection scope (``lifespan``, ``http`` or ``websocket``)."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await serve_stream(self._sim.user_stream, scope, receive, send)

    async def _lifespan(self, receive: _Receive, send: _Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        request = SimRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope["query_string"].decode("latin-1"),
            body=b"".join(chunks),
            headers=headers,
        )
        try:
            response = await self._sim.deliver(request)
        except httpx.ConnectError:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"Service Unavailable."})
            return
        if isinstance(response, Severed):
            await _sever(send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(k.encode(), v.encode()) for k, v in response.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": response.body})


async def _sever(send: _Send) -> None:
    """Promise a body, send none, and let the server close the connection.

    An ASGI app that answers nothing gets a 500 from the server instead, which
    is an answer; a response cut short is the closest ASGI allows to a
    connection that dies. h11 refuses to end the short message, which marks
    the connection broken, and hypercorn then closes it.
    """
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
        }
    )
    with contextlib.suppress(h11.LocalProtocolError):
        await send({"type": "http.response.body", "body": b""})


async def serve_sim(
    config: SimConfig | None = None,
    *,
    faults: FaultPlan | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    allow_non_loopback: bool = False,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve a simulated exchange over HTTP until cancelled.

    Args:
        config: What to simulate; the default config when omitted.
        faults: Faults to inject (see :func:`~trio_fapi.sim.parse_fault_spec`
            for the command line's form).
        host: The address to bind.
        port: The port; 0 picks a free one.
        allow_non_loopback: Permit a non-loopback ``host`` (off by default).
        task_status: Receives the bound port once the server is listening.

    Raises:
        ValueError: ``host`` is not a loopback address and
            ``allow_non_loopback`` was not given.
    """
    if not allow_non_loopback and not _is_loopback(host):
        raise ValueError(
            f"refusing to bind {host!r}: pass allow_non_loopback=True to expose the sim"
        )
    hconfig = HypercornConfig()
    hconfig.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    hconfig.accesslog = None
    hconfig.errorlog = _LOG
    hconfig.graceful_timeout = 1.0
    async with open_sim(config, faults=faults) as sim, trio.open_nursery() as nursery:
        # The raw app speaks plain dicts; hypercorn's TypedDict aliases describe the same messages.
        app = cast("Any", SimAsgiApp(sim))
        binds: list[str] = await nursery.start(partial(serve, app, hconfig))
        task_status.started(int(binds[0].rsplit(":", 1)[1]))
