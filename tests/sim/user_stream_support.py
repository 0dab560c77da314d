"""Helpers for the user-data stream tests: keys, orders, and reading frames.

Reading helpers wait on trio's clock, so every test that uses them takes the
``autojump_clock`` fixture and the waits cost no wall time.
"""

from __future__ import annotations

import json
from typing import Any

import trio

from trio_fapi.protocol.stream_transport import StreamConnection

from .conftest import SimClient

Event = dict[str, Any]
#: How long (virtual seconds) a reader waits before deciding nothing more is coming.
QUIET_S = 1.0
#: What one filled MARKET order sends, as :func:`kinds` names the events.
MARKET_EVENTS = ["ORDER_TRADE_UPDATE:NEW", "ORDER_TRADE_UPDATE:TRADE", "ACCOUNT_UPDATE"]


async def new_key(client: SimClient) -> str:
    """``POST /fapi/v1/listenKey`` with the API key header only."""
    response = await client.public("POST", "/fapi/v1/listenKey", key="sim-key")
    assert response.status_code == 200, response.text
    key = response.json()["listenKey"]
    assert isinstance(key, str)
    return key


async def keepalive(client: SimClient, key: str | None = None) -> dict[str, Any]:
    """``PUT /fapi/v1/listenKey`` (the key as a query parameter, or absent)."""
    params = [("listenKey", key)] if key is not None else []
    body = (await client.public("PUT", "/fapi/v1/listenKey", params, key="sim-key")).json()
    assert isinstance(body, dict)
    return body


def url(client: SimClient, key: str, form: str = "/private/ws/") -> str:
    """The stream URL of ``key`` under the sim's stream base."""
    return f"{client.sim.stream_url}{form}{key}"


async def market(client: SimClient, side: str, qty: str, client_id: str) -> dict[str, Any]:
    """A BTCUSDT MARKET order; its RESULT answer."""
    response = await client.order(
        symbol="BTCUSDT", side=side, type="MARKET", quantity=qty, newClientOrderId=client_id
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


async def limit(
    client: SimClient, side: str, qty: str, price: str, client_id: str
) -> dict[str, Any]:
    """A resting BTCUSDT LIMIT GTC order; its RESULT answer."""
    response = await client.order(
        symbol="BTCUSDT",
        side=side,
        type="LIMIT",
        timeInForce="GTC",
        quantity=qty,
        price=price,
        newClientOrderId=client_id,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


async def receive(conn: StreamConnection, count: int, *, within_s: float = 5.0) -> list[Event]:
    """Exactly ``count`` events, failing if they do not come within ``within_s``."""
    with trio.fail_after(within_s):
        return [decode(await conn.get_message()) for _ in range(count)]


async def receive_all(conn: StreamConnection, *, quiet_s: float = QUIET_S) -> list[Event]:
    """Every event that comes until ``quiet_s`` passes without one."""
    events: list[Event] = []
    while True:
        with trio.move_on_after(quiet_s) as scope:
            raw = await conn.get_message()
        if scope.cancelled_caught:
            return events
        events.append(decode(raw))


def decode(frame: str | bytes) -> Event:
    """A frame as the JSON object it must be (anything else fails the test)."""
    event = json.loads(frame)
    assert isinstance(event, dict), frame
    return event


def kinds(events: list[Event]) -> list[str]:
    """``e`` of each event, with ``x`` appended for order updates (``ORDER_TRADE_UPDATE:NEW``)."""
    return [
        f"{e['e']}:{e['o']['x']}" if e["e"] == "ORDER_TRADE_UPDATE" else str(e["e"]) for e in events
    ]
