"""The listenKey lifecycle the sim enforces (binance-fapi.md 2.4 and 8.1, faults.md row 40).

Everything runs on the autojump clock, so "60 minutes" is exact virtual time.
"""

from __future__ import annotations

import logging

import pytest
import trio

from trio_fapi.protocol.stream_transport import StreamClosed
from trio_fapi.sim import FaultKind, SimHandle

from .conftest import SimClient
from .user_stream_support import keepalive, market, new_key, receive, receive_all, url

HOUR_S = 3600.0
MS = 0.001


async def can_connect(client: SimClient, key: str) -> bool:
    """Whether the stream accepts ``key`` now."""
    try:
        async with client.sim.stream_connector.connect(url(client, key)):
            return True
    except StreamClosed:
        return False


class TestRest:
    """POST, PUT and DELETE need the API key only, cost weight 1, and follow Binance's rules."""

    async def test_post_needs_the_api_key_but_no_signature(self, stream_client: SimClient) -> None:
        refused = await stream_client.public("POST", "/fapi/v1/listenKey")
        assert (refused.status_code, refused.json()["code"]) == (401, -2015)
        first = await stream_client.public("POST", "/fapi/v1/listenKey", key="sim-key")
        second = await stream_client.public("POST", "/fapi/v1/listenKey", key="sim-key")
        assert first.status_code == second.status_code == 200
        used = [int(r.headers["X-MBX-USED-WEIGHT-1M"]) for r in (first, second)]
        assert used[1] - used[0] == 1

    async def test_put_and_delete_cost_one_weight_each(self, stream_client: SimClient) -> None:
        key = await new_key(stream_client)
        before = await stream_client.public("POST", "/fapi/v1/listenKey", key="sim-key")
        put = await stream_client.public(
            "PUT", "/fapi/v1/listenKey", [("listenKey", key)], key="sim-key"
        )
        delete = await stream_client.public("DELETE", "/fapi/v1/listenKey", key="sim-key")
        used = [int(r.headers["X-MBX-USED-WEIGHT-1M"]) for r in (before, put, delete)]
        assert (used[1] - used[0], used[2] - used[1]) == (1, 1)

    async def test_post_returns_the_active_key_and_extends_it(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        key = await new_key(stream_client)
        await trio.sleep(50 * 60)
        assert await new_key(stream_client) == key
        await trio.sleep(60 * 60 - MS)  # 110 minutes after creation, 60 after the second POST
        assert await can_connect(stream_client, key)
        await trio.sleep(MS)
        assert not await can_connect(stream_client, key)

    async def test_post_after_expiry_makes_a_new_key(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        key = await new_key(stream_client)
        await trio.sleep(HOUR_S)
        fresh = await new_key(stream_client)
        assert fresh != key
        assert len(fresh) == 64
        assert await can_connect(stream_client, fresh)
        assert not await can_connect(stream_client, key)

    @pytest.mark.parametrize("form", ["query", "body", "absent"])
    async def test_put_extends_by_60_minutes_whatever_the_key_form(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock, form: str
    ) -> None:
        key = await new_key(stream_client)
        await trio.sleep(30 * 60)
        headers = {"X-MBX-APIKEY": "sim-key"}
        if form == "query":
            response = await stream_client.http.put(
                f"/fapi/v1/listenKey?listenKey={key}", headers=headers
            )
        elif form == "body":
            response = await stream_client.http.request(
                "PUT",
                "/fapi/v1/listenKey",
                content=f"listenKey={key}",
                headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            response = await stream_client.http.put("/fapi/v1/listenKey", headers=headers)
        assert response.json() == {"listenKey": key}
        await trio.sleep(60 * 60 - MS)  # 90 minutes after creation
        assert await can_connect(stream_client, key)
        await trio.sleep(MS)
        assert not await can_connect(stream_client, key)

    async def test_put_of_another_key_is_1125(self, stream_client: SimClient) -> None:
        await new_key(stream_client)
        assert await keepalive(stream_client, "not-the-key") == {
            "code": -1125,
            "msg": "This listenKey does not exist.",
        }

    async def test_put_after_expiry_is_1125(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        key = await new_key(stream_client)
        await trio.sleep(HOUR_S - MS)
        assert await keepalive(stream_client, key) == {"listenKey": key}  # just in time
        await trio.sleep(HOUR_S)
        assert (await keepalive(stream_client, key))["code"] == -1125
        assert (await keepalive(stream_client))["code"] == -1125

    async def test_delete_invalidates_the_key_and_closes_its_connections(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        key = await new_key(stream_client)
        async with stream_client.sim.stream_connector.connect(url(stream_client, key)) as conn:
            response = await stream_client.public(
                "DELETE", "/fapi/v1/listenKey", [("listenKey", key)], key="sim-key"
            )
            assert response.json() == {}
            with pytest.raises(StreamClosed) as closed:
                await conn.get_message()
            assert closed.value.reason == "listen key deleted"
            with pytest.raises(StreamClosed):
                await conn.ping()
        assert (await keepalive(stream_client))["code"] == -1125
        assert not await can_connect(stream_client, key)
        assert await new_key(stream_client) != key

    async def test_delete_of_another_key_changes_nothing(self, stream_client: SimClient) -> None:
        key = await new_key(stream_client)
        response = await stream_client.public(
            "DELETE", "/fapi/v1/listenKey", [("listenKey", "other")], key="sim-key"
        )
        assert response.json() == {}
        assert await can_connect(stream_client, key)


class TestExpiryOnAnOpenConnection:
    """At expiry an open connection gets listenKeyExpired, then nothing; it stays open."""

    async def test_expired_event_comes_at_60_minutes_exactly(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        start = trio.current_time()
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            (event,) = await receive(conn, 1, within_s=HOUR_S + 1)
            assert trio.current_time() - start == pytest.approx(HOUR_S, abs=MS)
            assert event == {"e": "listenKeyExpired", "E": sim.now_ms(), "listenKey": key}
            await market(stream_client, "BUY", "0.010", "after-expiry")
            assert await receive_all(conn) == []
            with trio.fail_after(1):
                await conn.ping()  # still open, still answering pings
        assert [f.kind for f in sim.injected_faults()] == []

    async def test_a_keepalive_in_time_keeps_events_flowing(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        key = await new_key(stream_client)
        async with stream_client.sim.stream_connector.connect(url(stream_client, key)) as conn:
            for _ in range(4):
                await trio.sleep(30 * 60)
                assert await keepalive(stream_client, key) == {"listenKey": key}
            await market(stream_client, "BUY", "0.010", "two-hours-in")
            assert [e["e"] for e in await receive_all(conn)] == [
                "ORDER_TRADE_UPDATE",
                "ORDER_TRADE_UPDATE",
                "ACCOUNT_UPDATE",
            ]


class TestTheKeyIsASecret:
    """The listen key never shows in a repr, an exception, a fault record or a log line."""

    async def test_nowhere_but_the_wire(
        self,
        stream_client: SimClient,
        autojump_clock: trio.testing.MockClock,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        sim: SimHandle = stream_client.sim
        key = await new_key(stream_client)
        seen: list[str] = []
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            seen += [repr(conn), repr(sim.stream_connector), repr(sim.user_stream)]
            sim.expire_listen_keys()
            (expired,) = await receive(conn, 1)
            assert expired["listenKey"] == key  # on the wire, as Binance sends it
        for bad in (url(stream_client, key), f"http://sim.invalid/ws/{key}", "ws://h/elsewhere"):
            with pytest.raises(StreamClosed) as refused:
                async with sim.stream_connector.connect(bad):
                    pass
            seen += [str(refused.value), repr(refused.value)]
        seen += [repr(sim), repr(sim.exchange), repr(sim.exchange.listen_keys)]
        seen += [repr(f) for f in sim.injected_faults()]
        seen += [repr(sim.stats()), repr(sim.stream_statistics())]
        seen += [r.getMessage() for r in caplog.records]
        assert [text for text in seen if key in text] == []
        assert sim.injected_faults()[0].kind is FaultKind.KEY_EXPIRE
