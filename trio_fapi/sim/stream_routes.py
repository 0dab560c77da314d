"""The scripted stream faults over HTTP, for clients of a loopback simulator.

``serve_sim`` (and ``trio-fapi sim``) hand out no :class:`SimHandle`, so its
stream controls are also routes under ``/sim/streams``, answered by the actor
in both front ends:

- ``GET /sim/streams``: the hub's statistics;
- ``POST /sim/streams/disconnect``: close every stream connection now;
- ``POST /sim/streams/silence?silent=true|false``: half-open silence on or off;
- ``POST /sim/streams/expire?notify=true|false``: expire the listen key now.

Like ``/sim/stats`` they need no key and cost no weight: they are test
controls, not Binance endpoints.
"""

from __future__ import annotations

import json

import attrs

from .api import SimRequest, SimResponse
from .errors import SimError
from .params import merge_params
from .user_stream import UserStreamHub

__all__ = ["STREAM_ROUTES_PREFIX", "stream_control"]

#: Paths under this prefix are stream controls.
STREAM_ROUTES_PREFIX = "/sim/streams"
_JSON = {"Content-Type": "application/json"}
_FLAGS = {"true": True, "false": False}


def _answer(status: int, body: object) -> SimResponse:
    return SimResponse(
        status=status, body=json.dumps(body, separators=(",", ":")).encode(), headers=dict(_JSON)
    )


def _flag(params: dict[str, str], name: str) -> bool:
    raw = params.get(name, "true")
    if raw not in _FLAGS:
        raise SimError.of(-1130, name)
    return _FLAGS[raw]


def stream_control(hub: UserStreamHub, request: SimRequest) -> SimResponse:
    """Answer one ``/sim/streams`` request."""
    method = request.method.upper()
    path = request.path
    params = merge_params(request.query, request.body.decode("utf-8", "replace"))
    try:
        if (method, path) == ("GET", STREAM_ROUTES_PREFIX):
            return _answer(200, attrs.asdict(hub.statistics()))
        if (method, path) == ("POST", f"{STREAM_ROUTES_PREFIX}/disconnect"):
            return _answer(200, {"closed": hub.disconnect_all()})
        if (method, path) == ("POST", f"{STREAM_ROUTES_PREFIX}/silence"):
            silent = _flag(params, "silent")
            hub.silence(silent)
            return _answer(200, {"silent": silent})
        if (method, path) == ("POST", f"{STREAM_ROUTES_PREFIX}/expire"):
            return _answer(200, {"expired": hub.expire_keys(notify=_flag(params, "notify"))})
    except SimError as exc:
        return _answer(exc.http_status, exc.to_wire())
    return _answer(404, SimError.of(-1099).to_wire())
