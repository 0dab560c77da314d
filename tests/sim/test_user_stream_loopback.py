"""The user-data stream over a real WebSocket on 127.0.0.1, with the engine's own connector.

Real sockets need trio's real clock (faults.md part d, item 1), so this one
test runs in real time, bounded by ``trio.fail_after``, on loopback only.
"""

from __future__ import annotations

import gc
import logging
from functools import partial
from typing import Any

import httpx
import pytest
import trio

from trio_fapi.actors._signing import signed_query
from trio_fapi.actors.websocket import WebSocketConnector
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.protocol.stream_transport import StreamClosed, StreamConnection
from trio_fapi.sim import serve_sim

from .conftest import still_config
from .user_stream_support import decode

CREDS = Credentials(api_key="sim-key", api_secret="sim-secret")
KEY_HEADER = {"X-MBX-APIKEY": "sim-key"}
_SERVER_LOGGERS = ("trio_fapi", "hypercorn")


async def _events(conn: StreamConnection, count: int) -> list[dict[str, Any]]:
    return [decode(await conn.get_message()) for _ in range(count)]


@pytest.mark.loopback
async def test_stream_over_loopback_websocket(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # trio-websocket's DEBUG records hold its connection objects (as log args),
    # which would keep the sockets below alive until the test ends.
    caplog.set_level(logging.INFO, logger="trio-websocket")
    connector = WebSocketConnector(connect_timeout_s=5.0)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(partial(serve_sim, still_config(), port=0))
            base = f"ws://127.0.0.1:{port}"
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=5.0
            ) as http:
                key = (await http.post("/fapi/v1/listenKey", headers=KEY_HEADER)).json()[
                    "listenKey"
                ]
                with pytest.raises(StreamClosed) as refused:
                    async with connector.connect(f"{base}/private/ws/not-a-key"):
                        pass
                async with (
                    connector.connect(f"{base}/ws/{key}") as legacy,
                    connector.connect(f"{base}/private/ws/{key}") as private,
                    connector.connect(f"{base}/private/ws?listenKey={key}") as by_query,
                ):
                    for conn in (legacy, private, by_query):
                        await conn.ping()
                    server_time = (await http.get("/fapi/v1/time")).json()["serverTime"]
                    query = signed_query(
                        CREDS,
                        [
                            ("symbol", "BTCUSDT"),
                            ("side", "BUY"),
                            ("type", "MARKET"),
                            ("quantity", "0.010"),
                            ("newClientOrderId", "over-the-wire"),
                        ],
                        timestamp_ms=server_time,
                        recv_window_ms=None,
                    )
                    placed = await http.post(f"/fapi/v1/order?{query}", headers=KEY_HEADER)
                    assert placed.status_code == 200, placed.text
                    received = [await _events(c, 3) for c in (legacy, private, by_query)]
                    trades = (
                        await http.get(
                            "/fapi/v1/userTrades?"
                            + signed_query(
                                CREDS,
                                [("symbol", "BTCUSDT")],
                                timestamp_ms=server_time,
                                recv_window_ms=None,
                            ),
                            headers=KEY_HEADER,
                        )
                    ).json()
                    deleted = await http.delete("/fapi/v1/listenKey", headers=KEY_HEADER)
                    assert deleted.json() == {}
                    with pytest.raises(StreamClosed) as closed:
                        await legacy.get_message()
            nursery.cancel_scope.cancel()
    refused_reason, closed_reason = refused.value.reason, closed.value.reason
    del refused, closed  # their tracebacks hold the client connections
    gc.collect()  # the leaked client sockets go now, under this test's filter
    assert "handshake refused" in refused_reason
    assert received[0] == received[1] == received[2]
    new, trade, account = received[0]
    assert [(e["e"], e["o"]["x"]) for e in (new, trade)] == [
        ("ORDER_TRADE_UPDATE", "NEW"),
        ("ORDER_TRADE_UPDATE", "TRADE"),
    ]
    (fill,) = trades
    assert (trade["o"]["c"], trade["o"]["t"], trade["o"]["l"], trade["o"]["n"]) == (
        "over-the-wire",
        fill["id"],
        "0.010",
        fill["commission"],
    )
    assert account["e"] == "ACCOUNT_UPDATE"
    assert account["a"]["P"][0]["pa"] == "0.010"
    assert new["E"] < trade["E"] < account["E"]
    assert "1001" in closed_reason  # the server's close frame: going away
    # The server's own log lines never carry the key. (trio-websocket, on the
    # client side, logs the URL it connects to at DEBUG: the engine's business.)
    server_lines = [r.getMessage() for r in caplog.records if r.name.startswith(_SERVER_LOGGERS)]
    assert [line for line in server_lines if key in line] == []
