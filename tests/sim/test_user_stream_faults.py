"""Stream faults: dropped, duplicated, reordered and delayed events; disconnect, silence, expiry.

Each catalogue row the fault serves is named (faults.md rows 37-41). Per-event
faults are tested with probability 1, which makes them exact; the seeded
mixture is tested for reproducibility (invariant I12).
"""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
import pytest
import trio

from trio_fapi.protocol.stream_transport import StreamClosed
from trio_fapi.sim import (
    FaultKind,
    FaultPlan,
    FaultStep,
    InjectedFault,
    format_fault_spec,
    open_sim,
    parse_fault_spec,
)

from .conftest import SimClient, stream_config
from .user_stream_support import (
    MARKET_EVENTS,
    keepalive,
    kinds,
    limit,
    market,
    new_key,
    receive,
    receive_all,
    url,
)


def stream_faults(client: SimClient) -> list[InjectedFault]:
    return [f for f in client.sim.injected_faults() if f.method == "WS"]


class TestDrop:
    """Row 39: a dropped event is lost to that connection; REST still tells the truth."""

    async def test_dropped_events_never_arrive_and_are_recorded(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            sim.set_faults(FaultPlan(p_event_drop=1.0))
            await market(stream_client, "BUY", "0.010", "lost-1")
            sim.set_faults(None)
            await market(stream_client, "SELL", "0.010", "seen-2")
            events = await receive_all(conn)
        assert kinds(events) == MARKET_EVENTS
        assert {e["o"]["c"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"} == {"seen-2"}
        dropped = stream_faults(stream_client)
        assert [(f.kind, f.event_type, f.client_order_id, f.symbol) for f in dropped] == [
            (FaultKind.EVENT_DROP, "ORDER_TRADE_UPDATE", "lost-1", "BTCUSDT"),
            (FaultKind.EVENT_DROP, "ORDER_TRADE_UPDATE", "lost-1", "BTCUSDT"),
            (FaultKind.EVENT_DROP, "ACCOUNT_UPDATE", "lost-1", "BTCUSDT"),
        ]
        assert {(f.method, f.path, f.connection_id) for f in dropped} == {("WS", "/ws", 1)}
        assert sim.stats()["faults_by_kind"] == {"evdrop": 3}

    async def test_a_lost_fill_is_recovered_by_rest_reconciliation(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            placed = await limit(stream_client, "BUY", "0.010", "59000.00", "quiet-fill")
            (new,) = await receive(conn, 1)
            sim.set_faults(FaultPlan(p_event_drop=1.0))
            sim.set_price(
                "BTCUSDT", "58900.00"
            )  # the resting order fills: TRADE + ACCOUNT_UPDATE lost
            sim.set_faults(None)
            assert await receive_all(conn) == []
        assert new["o"]["X"] == "NEW"
        symbol = [("symbol", "BTCUSDT")]
        open_orders = (await stream_client.signed("GET", "/fapi/v1/openOrders", symbol)).json()
        order = (
            await stream_client.signed(
                "GET", "/fapi/v1/order", [*symbol, ("origClientOrderId", "quiet-fill")]
            )
        ).json()
        trades = (
            await stream_client.signed(
                "GET", "/fapi/v1/userTrades", [*symbol, ("startTime", str(placed["updateTime"]))]
            )
        ).json()
        assert open_orders == []
        assert (order["status"], order["executedQty"], order["avgPrice"]) == (
            "FILLED",
            "0.010",
            "59000.00",
        )
        (trade,) = trades
        assert (trade["orderId"], trade["qty"], trade["price"], trade["maker"]) == (
            placed["orderId"],
            "0.010",
            "59000.00",
            True,
        )
        assert [f.event_type for f in stream_faults(stream_client)] == [
            "ORDER_TRADE_UPDATE",
            "ACCOUNT_UPDATE",
        ]


class TestDuplicate:
    """Row 38: a duplicated event arrives twice in a row, byte for byte."""

    async def test_every_event_twice(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            sim.set_faults(FaultPlan(p_event_dup=1.0))
            await market(stream_client, "BUY", "0.010", "twice")
            events = await receive_all(conn)
        assert kinds(events) == [k for k in MARKET_EVENTS for _ in range(2)]
        assert events[0::2] == events[1::2]
        assert [f.kind for f in stream_faults(stream_client)] == [FaultKind.EVENT_DUPLICATE] * 3


class TestReorder:
    """Row 37: a held event comes right after the next one (NEW after TRADE)."""

    async def test_held_events_come_after_the_next_and_heal_releases_the_last(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            sim.set_faults(FaultPlan(p_event_reorder=1.0))
            await market(stream_client, "BUY", "0.010", "swap")
            swapped = await receive_all(conn)
            sim.set_faults(None)  # heal: the event still held goes out now
            released = await receive_all(conn)
        # NEW is held; TRADE cannot be held too, so it goes first and NEW follows;
        # ACCOUNT_UPDATE is held next and waits for the next event, or the heal.
        assert kinds(swapped) == ["ORDER_TRADE_UPDATE:TRADE", "ORDER_TRADE_UPDATE:NEW"]
        assert kinds(released) == ["ACCOUNT_UPDATE"]
        assert swapped[0]["E"] > swapped[1]["E"]
        faults = stream_faults(stream_client)
        assert [(f.kind, f.event_type) for f in faults] == [
            (FaultKind.EVENT_REORDER, "ORDER_TRADE_UPDATE"),
            (FaultKind.EVENT_REORDER, "ACCOUNT_UPDATE"),
        ]


class TestDelay:
    """A delayed event arrives ``event_delay_s`` late, and holds back what follows it."""

    async def test_delayed_events_arrive_late_and_in_order(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            sim.set_faults(FaultPlan(p_event_delay=1.0, event_delay_s=5.0))
            start = trio.current_time()
            await market(stream_client, "BUY", "0.010", "late")
            sim.set_faults(None)
            await trio.sleep(1.0)
            await market(stream_client, "SELL", "0.010", "behind")  # not delayed itself
            with trio.move_on_after(3.999) as early:
                await conn.get_message()
            assert early.cancelled_caught  # nothing before 5 s
            events = await receive(conn, 6)
            arrived = trio.current_time() - start
        assert arrived == pytest.approx(5.0)
        assert kinds(events) == MARKET_EVENTS * 2
        assert [e["o"]["c"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"] == [
            "late",
            "late",
            "behind",
            "behind",
        ]
        assert [f.kind for f in stream_faults(stream_client)] == [FaultKind.EVENT_DELAY] * 3


class TestSeededMixture:
    """Invariant I12: one seed, one history; stream draws never move the REST draws."""

    @staticmethod
    async def run(plan: FaultPlan, *, with_stream: bool) -> tuple[list[Any], list[Any]]:
        async with (
            open_sim(stream_config(), faults=plan) as sim,
            httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
        ):
            client = SimClient(http, sim)
            key = await new_key(client)
            seen: list[Any] = []
            async with sim.stream_connector.connect(url(client, key)) as conn:
                if not with_stream:
                    sim.disconnect_streams()
                for i in range(12):
                    with contextlib.suppress(httpx.HTTPError):  # a dropped request
                        await client.order(
                            symbol="BTCUSDT",
                            side="BUY",
                            type="MARKET",
                            quantity="0.010",
                            newClientOrderId=f"mix-{i}",
                        )
                if with_stream:
                    sim.set_faults(None)
                    seen = [
                        (e["e"], e["o"]["c"], e["o"]["x"]) if "o" in e and "c" in e["o"] else e["e"]
                        for e in await receive_all(conn, quiet_s=10)
                    ]
            rest = [(f.kind, f.client_order_id) for f in sim.injected_faults() if f.method != "WS"]
            ws = [
                (f.kind, f.event_type, f.client_order_id)
                for f in sim.injected_faults()
                if f.method == "WS"
            ]
            return seen, [rest, ws]

    async def test_same_seed_same_stream_and_same_rest_faults(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        plan = parse_fault_spec(
            "seed=11,pdrop=0.2,p503unknown=0.2,pevdrop=0.2,pevdup=0.2,pevreorder=0.2,pevdelay=0.2,evdelay_s=2"
        )
        first_seen, (first_rest, first_ws) = await self.run(plan, with_stream=True)
        again_seen, (again_rest, again_ws) = await self.run(plan, with_stream=True)
        _, (quiet_rest, quiet_ws) = await self.run(plan, with_stream=False)
        assert (first_seen, first_rest, first_ws) == (again_seen, again_rest, again_ws)
        assert {k for k, _, _ in first_ws} == {
            FaultKind.EVENT_DROP,
            FaultKind.EVENT_DUPLICATE,
            FaultKind.EVENT_REORDER,
            FaultKind.EVENT_DELAY,
        }
        assert first_rest  # REST faults were drawn too
        assert quiet_rest == first_rest  # a listening stream does not reshuffle them
        assert [k for k, _, _ in quiet_ws] == [FaultKind.STREAM_DISCONNECT]


class TestDisconnect:
    """Row 41: the server closes every connection; unread frames are lost."""

    async def test_all_connections_close_at_once(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with (
            sim.stream_connector.connect(url(stream_client, key)) as first,
            sim.stream_connector.connect(url(stream_client, key, "/ws/")) as second,
        ):
            await market(stream_client, "BUY", "0.010", "unread")
            assert sim.disconnect_streams() == 2
            for conn in (first, second):
                with pytest.raises(StreamClosed, match="disconnected by the server"):
                    await conn.get_message()
                with pytest.raises(StreamClosed):
                    await conn.ping()
            async with sim.stream_connector.connect(url(stream_client, key)) as again:
                await market(stream_client, "SELL", "0.010", "after")
                assert kinds(await receive_all(again)) == MARKET_EVENTS
        faults = stream_faults(stream_client)
        assert [(f.kind, f.connection_id) for f in faults] == [(FaultKind.STREAM_DISCONNECT, None)]

    async def test_nothing_open_nothing_closed_nothing_recorded(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        assert sim.disconnect_streams() == 0
        async with sim.stream_connector.connect(url(stream_client, key)):
            pass
        assert sim.disconnect_streams() == 0  # the client already left
        assert sim.injected_faults() == ()
        assert sim.stats()["faults_injected"] == 0


class TestSilence:
    """Row 41: a half-open connection sends nothing and answers no ping, until dropped."""

    async def test_no_events_no_pongs_and_heal_spares_only_new_connections(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as old:
            with trio.fail_after(1):
                await old.ping()
            sim.silence_streams(True)
            await market(stream_client, "BUY", "0.010", "into-the-void")
            with trio.move_on_after(600) as no_pong:
                await old.ping()
            assert no_pong.cancelled_caught
            assert await receive_all(old, quiet_s=60) == []
            async with sim.stream_connector.connect(url(stream_client, key)) as during:
                with trio.move_on_after(10) as also_none:
                    await during.ping()
                assert also_none.cancelled_caught
            sim.set_faults(None)  # heal
            async with sim.stream_connector.connect(url(stream_client, key)) as fresh:
                with trio.fail_after(1):
                    await fresh.ping()
                await market(stream_client, "SELL", "0.010", "heard")
                assert kinds(await receive_all(fresh)) == MARKET_EVENTS
            assert await receive_all(old) == []  # a dead peer stays dead
            with trio.move_on_after(10) as still_none:
                await old.ping()
            assert still_none.cancelled_caught
        assert [f.kind for f in stream_faults(stream_client)] == [FaultKind.STREAM_SILENCE]

    async def test_silence_can_be_lifted_without_healing_the_plan(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        sim.silence_streams(True)
        sim.silence_streams(False)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            with trio.fail_after(1):
                await conn.ping()


class TestExpire:
    """Row 40: the key expires now: listenKeyExpired, then silence; PUT gets -1125."""

    async def test_expired_event_then_nothing_and_keepalive_fails(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            await market(stream_client, "BUY", "0.010", "before")
            assert sim.expire_listen_keys() is True
            await market(stream_client, "SELL", "0.010", "after")
            events = await receive_all(conn)
            assert (await keepalive(stream_client, key))["code"] == -1125
            fresh = await new_key(stream_client)
            async with sim.stream_connector.connect(url(stream_client, fresh)) as renewed:
                await market(stream_client, "BUY", "0.010", "renewed")
                assert kinds(await receive_all(renewed)) == MARKET_EVENTS
            with trio.fail_after(1):
                await conn.ping()  # the old connection is open, just silent
            assert await receive_all(conn) == []
        assert fresh != key
        assert kinds(events) == [*MARKET_EVENTS, "listenKeyExpired"]
        assert events[-1]["listenKey"] == key
        assert events[-1]["E"] > events[-2]["E"]
        assert [f.kind for f in stream_faults(stream_client)] == [FaultKind.KEY_EXPIRE]

    async def test_a_silent_expiry_sends_no_event(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            sim.expire_listen_keys(notify=False)
            await market(stream_client, "BUY", "0.010", "unheard")
            assert await receive_all(conn) == []
        assert (await keepalive(stream_client))["code"] == -1125

    async def test_nothing_to_expire_without_a_key(self, stream_client: SimClient) -> None:
        assert stream_client.sim.expire_listen_keys() is False
        assert stream_client.sim.injected_faults() == ()  # nothing expired, nothing recorded

    async def test_an_expired_key_does_not_expire_again(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        await new_key(stream_client)
        assert sim.expire_listen_keys(notify=False) is True
        assert sim.expire_listen_keys() is False
        assert [f.kind for f in stream_faults(stream_client)] == [FaultKind.KEY_EXPIRE]


class TestControlsOverHttp:
    """The scripted stream faults are also ``/sim/streams`` routes, for loopback clients."""

    async def test_routes(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        http = stream_client.http
        key = await new_key(stream_client)
        async with stream_client.sim.stream_connector.connect(url(stream_client, key)) as conn:
            stats = (await http.get("/sim/streams")).json()
            assert (stats["open_connections"], stats["connections_opened"]) == (1, 1)
            assert (await http.post("/sim/streams/silence?silent=true")).json() == {"silent": True}
            assert (await http.post("/sim/streams/silence?silent=false")).json() == {
                "silent": False
            }
            assert (await http.post("/sim/streams/silence?silent=maybe")).json()["code"] == -1130
            assert (await http.post("/sim/streams/expire?notify=false")).json() == {"expired": True}
            assert (await http.post("/sim/streams/disconnect")).json() == {"closed": 1}
            with pytest.raises(StreamClosed):
                await conn.get_message()
        assert (await http.post("/sim/streams/nothing")).status_code == 404
        assert [f.kind for f in stream_faults(stream_client)] == [
            FaultKind.STREAM_SILENCE,
            FaultKind.KEY_EXPIRE,
            FaultKind.STREAM_DISCONNECT,
        ]


class TestSpec:
    """The command line's spec carries the stream probabilities."""

    def test_stream_keys_parse(self) -> None:
        plan = parse_fault_spec("pevdrop=0.05,pevdup=0.05,pevreorder=0.05,pevdelay=0.05")
        assert plan == FaultPlan(
            p_event_drop=0.05, p_event_dup=0.05, p_event_reorder=0.05, p_event_delay=0.05
        )
        assert dict(plan.stream_probabilities()) == {
            FaultKind.EVENT_DROP: 0.05,
            FaultKind.EVENT_DUPLICATE: 0.05,
            FaultKind.EVENT_REORDER: 0.05,
            FaultKind.EVENT_DELAY: 0.05,
        }
        assert not plan.draws  # REST requests take no draw from a stream-only plan
        assert parse_fault_spec("pevdelay=1,evdelay_s=2.5").event_delay_s == 2.5

    def test_round_trip(self) -> None:
        plan = FaultPlan(seed=3, p_drop=0.6, p_event_drop=0.6, p_event_delay=0.1, event_delay_s=7.0)
        assert parse_fault_spec(format_fault_spec(plan)) == plan

    @pytest.mark.parametrize(
        ("spec", "reason"),
        [
            ("pevdrop=0.7,pevdup=0.7", "stream event probabilities sum to 1.4"),
            ("pevreorder=2", "p_event_reorder must be a probability"),
            ("evdelay_s=-1", "event_delay_s must be"),
            ("pevdelay=soon", "is not a number"),
        ],
    )
    def test_bad_stream_specs(self, spec: str, reason: str) -> None:
        with pytest.raises(ValueError, match=reason):
            parse_fault_spec(spec)

    def test_a_stream_fault_is_not_a_request_step(self) -> None:
        with pytest.raises(ValueError, match="stream fault"):
            FaultStep(fault=FaultKind.EVENT_DROP)
