"""The loopback server injects the same faults as the in-process transport.

Real sockets need trio's real clock (faults.md part d, item 1), so this runs
in real time with small delays, bounded by ``trio.fail_after``, on 127.0.0.1.
"""

from __future__ import annotations

from functools import partial

import httpx
import pytest
import trio

from trio_fapi.actors._signing import signed_query
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.sim import FaultKind, FaultPlan, serve_sim

from .conftest import still_config
from .test_faults import UNKNOWN_ERROR, limit_buy, step

CREDS = Credentials(api_key="sim-key", api_secret="sim-secret")


async def place(
    http: httpx.AsyncClient, client_id: str, read_timeout_s: float = 5.0
) -> httpx.Response:
    """A resting LIMIT BUY, signed with the server's own time."""
    server_time = (await http.get("/fapi/v1/time")).json()["serverTime"]
    params = list(limit_buy(client_id).items())
    query = signed_query(CREDS, params, timestamp_ms=server_time, recv_window_ms=None)
    return await http.post(
        f"/fapi/v1/order?{query}", headers={"X-MBX-APIKEY": "sim-key"}, timeout=read_timeout_s
    )


@pytest.mark.loopback
async def test_lost_503_and_delayed_answers_over_http() -> None:
    plan = FaultPlan.scripted(
        step(FaultKind.LOST, 1),
        step(FaultKind.UNKNOWN_503, 2),
        step(FaultKind.DELAY, 3, delay_s=0.5),
        step(FaultKind.DROP, 4),
    )
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(partial(serve_sim, still_config(), faults=plan, port=0))
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=5.0
            ) as http:
                with pytest.raises(httpx.RemoteProtocolError):
                    await place(http, "lost")
                unknown = await place(http, "unknown")
                with pytest.raises(httpx.ReadTimeout):
                    await place(http, "late", read_timeout_s=0.2)  # the client gives up first
                with pytest.raises(httpx.RemoteProtocolError):
                    await place(http, "dropped")
                healthy = await place(http, "fine")
                await trio.sleep(0.6)  # let the late answer go out to nobody
                ledger = (await http.get("/sim/ledger")).json()
                stats = (await http.get("/sim/stats")).json()
            nursery.cancel_scope.cancel()
    assert unknown.status_code == 503
    assert unknown.json()["msg"] == UNKNOWN_ERROR
    assert healthy.status_code == 200
    assert [o["clientOrderId"] for o in ledger["orders"]] == ["lost", "unknown", "late", "fine"]
    assert stats["faults_injected"] == 4
    assert stats["faults_by_kind"] == {"503unknown": 1, "delay": 1, "drop": 1, "lost": 1}
