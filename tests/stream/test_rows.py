"""Rows 37-44: the user-data stream lies, stutters, goes quiet or goes away.

Each scenario runs the engine with its stream on the in-process simulator, on
trio's virtual clock, with polling effectively off: what the engine knows at
the check, it learned from the stream or from the reconciliation that follows
every reconnect. Ground truth is the simulator's ledger (I3); fills must be
applied exactly once (I4), statuses only move forward (I5), and nothing that
is not the engine's reaches a strategy (I11).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from decimal import Decimal
from functools import partial

import attrs
import pytest
import trio
import trio.testing

from tests.faults.support import ORDER_PATH as ORDER
from tests.faults.support import (
    Mutate,
    Rule,
    Seen,
    assert_engine_matches_ledger,
    errors_by_code,
    final_state,
    resting_buy,
)
from tests.sim.user_stream_support import decode
from trio_fapi.protocol.enums import OrderStatus
from trio_fapi.protocol.filters import RateLimit
from trio_fapi.protocol.messages import StreamGap, StreamResynced
from trio_fapi.sim import FaultKind, FaultPlan

from .support import (
    ORDER_EVENTS,
    QTY,
    STREAM_BOUND_S,
    STREAM_STILL,
    Events,
    StreamRig,
    assert_fills_once,
    assert_never_regresses,
    cross,
    engine_positions,
    eventually,
    external_order,
    ledger_positions,
    open_stream_engine,
    order_frames,
    reported_positions,
    watch,
)

NEW, PARTIAL, FILLED = OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED


def status_of(frame: str | bytes) -> str | None:
    """The order status an ``ORDER_TRADE_UPDATE`` frame carries."""
    event = decode(frame)
    order = event.get("o")
    if event.get("e") != "ORDER_TRADE_UPDATE" or not isinstance(order, dict):
        return None
    return str(order.get("X"))


class HoldBack:
    """A frame rewrite: hold ``hold`` statuses back until a ``release`` status passes."""

    def __init__(self, *, hold: set[str], release: str) -> None:
        self.hold = hold
        self.release = release
        self.held: list[str | bytes] = []

    def __call__(self, frame: str | bytes) -> list[str | bytes]:
        status = status_of(frame)
        if status in self.hold:
            self.held.append(frame)
            return []
        if status == self.release:
            held, self.held = self.held, []
            return [frame, *held]
        return [frame]


class TestRow37Reordered:
    """Events arrive out of order: apply by cumulative quantity, never regress."""

    async def test_filled_before_partially_filled_and_new_after_trade(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 37: FILLED first, then the older PARTIALLY_FILLED and NEW: one fill, no regress."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            reorder = HoldBack(hold={"NEW", "PARTIALLY_FILLED"}, release="FILLED")
            rig.frames.rewrite = reorder
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            cross(rig.sim, order, "0.004")  # PARTIALLY_FILLED, held back
            cross(rig.sim, order, "0.006")  # FILLED, then the held ones
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED)
            await trio.sleep(1)  # the late PARTIALLY_FILLED and NEW are read too
            delivered = [o["X"] for o in order_frames(rig.frames.delivered, cid)]
            assert delivered == ["FILLED", "NEW", "PARTIALLY_FILLED"]
            final = final_state(rig.ex, cid)
            assert_engine_matches_ledger(rig.sim, final)
            assert final.executed_qty == Decimal("0.010")
            (fill,) = assert_fills_once(events, final)
            assert fill.last_qty == Decimal("0.010")
            assert_never_regresses(events, cid)
            assert events.statuses(cid)[-1] is FILLED
            assert rig.symbol_stats().stream_events == 3

    async def test_simulator_reorder_new_after_trade(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 37: the exchange swaps neighbouring events: NEW comes after the first TRADE."""
        plan = FaultPlan(p_event_reorder=1.0)
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            rig.sim.set_faults(plan)
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            cross(rig.sim, order, "0.004")
            cross(rig.sim, order, "0.006")
            rig.sim.set_faults(None)  # releases the last held event
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED)
            await trio.sleep(1)
            delivered = [o["X"] for o in order_frames(rig.frames.delivered, cid)]
            assert delivered == ["PARTIALLY_FILLED", "NEW", "FILLED"]
            assert {f.kind for f in rig.sim.injected_faults()} == {FaultKind.EVENT_REORDER}
            final = final_state(rig.ex, cid)
            assert_engine_matches_ledger(rig.sim, final)
            fills = assert_fills_once(events, final)
            assert [f.last_qty for f in fills] == [Decimal("0.004"), Decimal("0.006")]
            assert_never_regresses(events, cid)


class TestRow38Duplicated:
    """The same event twice: fills are not counted twice."""

    async def test_every_event_twice(self, autojump_clock: trio.testing.MockClock) -> None:
        """Row 38: each event arrives twice: executed qty, fills and their sum are counted once."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            rig.sim.set_faults(FaultPlan(p_event_dup=1.0))
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            cross(rig.sim, order, "0.004")
            cross(rig.sim, order, "0.006")
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED)
            await trio.sleep(1)
            delivered = [o["X"] for o in order_frames(rig.frames.delivered, cid)]
            twice = ["NEW", "NEW", "PARTIALLY_FILLED", "PARTIALLY_FILLED", "FILLED", "FILLED"]
            assert delivered == twice
            final = final_state(rig.ex, cid)
            assert final.executed_qty == Decimal("0.010")
            assert_engine_matches_ledger(rig.sim, final)
            fills = assert_fills_once(events, final)
            assert len(fills) == 2
            assert_never_regresses(events, cid)

    async def test_replay_after_reconnect(self, autojump_clock: trio.testing.MockClock) -> None:
        """Row 38: after a reconnect the old events are replayed: nothing is applied again."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            cross(rig.sim, order, "0.004")
            cross(rig.sim, order, "0.006")
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED)
            rig.frames.on_connect = list(rig.frames.received)  # the server replays everything
            replayed = len(rig.frames.on_connect)
            rig.sim.disconnect_streams()
            await eventually(lambda: len(rig.frames.connects) == 2 and rig.stream.connected)
            await trio.sleep(1)
            assert len(rig.frames.delivered) >= 2 * replayed
            assert len(order_frames(rig.frames.delivered, cid)) == 6
            final = final_state(rig.ex, cid)
            assert_engine_matches_ledger(rig.sim, final)
            assert len(assert_fills_once(events, final)) == 2
            (resynced,) = [e for e in events.stream() if isinstance(e, StreamResynced)]
            assert resynced.recovered_fills == 0

    async def test_a_replayed_expiry_of_the_previous_key_changes_nothing(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 38: after a renewal, the old key's ``listenKeyExpired`` comes again: a no-op."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            assert rig.sim.expire_listen_keys(notify=True)
            await eventually(lambda: len(events.stream()) == 2)
            assert rig.stream.keys_created == 2
            notices = [f for f in rig.frames.received if decode(f).get("e") == "listenKeyExpired"]
            assert len(notices) == 1
            assert rig.frames.inject(*notices) == 1  # about the key that was replaced
            await trio.sleep(60)
            assert len(events.stream()) == 2  # no new gap
            assert (rig.stream.keys_created, rig.stream.connects) == (2, 2)
            assert rig.stream.connected


def one_gap_then_resync(events: Events) -> tuple[StreamGap, StreamResynced]:
    """The stream went down once and came back reconciled, in that order."""
    stream = events.stream()
    assert [type(e) for e in stream] == [StreamGap, StreamResynced], stream
    gap, resynced = stream
    assert isinstance(gap, StreamGap)
    assert isinstance(resynced, StreamResynced)
    return gap, resynced


async def assert_positions_match(rig: StreamRig) -> None:
    """The exchange's positions, as the engine reports them and as its fills add up (I4)."""
    ledger = ledger_positions(rig.sim)
    assert await reported_positions(rig.ex) == ledger
    assert engine_positions(rig.ex) == ledger


OPEN_ORDERS = "/fapi/v1/openOrders"


def recorded(answers: list[object]) -> Callable[[object], object]:
    """A :class:`Mutate` edit that changes nothing and keeps each answer in ``answers``."""

    def keep(payload: object) -> object:
        answers.append(payload)
        return payload

    return keep


class TestRow39LostWhileDisconnected:
    """Fills that happen while the stream is down, or whose events are lost."""

    async def test_fills_during_a_disconnect_are_recovered_once(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 39: the connection drops, two orders fill meanwhile: resync finds both, once."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            first = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            second = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY, ticks=60))
            cross(rig.sim, first, "0.004")  # seen on the stream
            await eventually(
                lambda: final_state(rig.ex, first.client_order_id.value).status is PARTIAL
            )
            dropped_at = trio.current_time()
            assert rig.sim.disconnect_streams() == 1
            cross(rig.sim, first, "0.006")  # in the gap
            cross(rig.sim, second, "0.010")  # in the gap
            await eventually(lambda: len(events.stream()) == 2)
            gap, resynced = one_gap_then_resync(events)
            assert resynced.recovered_fills == 2
            assert resynced.gap_s > 0
            assert dropped_at <= gap.at < dropped_at + 1.0  # the close was noticed at once
            for order in (first, second):
                final = final_state(rig.ex, order.client_order_id.value)
                assert final.status is FILLED
                assert_engine_matches_ledger(rig.sim, final)
                assert_fills_once(events, final)
                assert_never_regresses(events, order.client_order_id.value)
            assert rig.stream.recovered_fills == 2
            assert rig.stream.connects == 2
            await assert_positions_match(rig)

    async def test_dropped_events_are_recovered_after_the_next_reconnect(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 39: the fill's events are lost on a live connection: the next resync finds it."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            rig.sim.set_faults(FaultPlan(p_event_drop=1.0))
            cross(rig.sim, order, "0.010")
            rig.sim.set_faults(None)
            await trio.sleep(60)
            assert (
                final_state(rig.ex, cid).status is NEW
            )  # nothing told the engine (polling is off)
            assert [o["X"] for o in order_frames(rig.frames.received, cid)] == ["NEW"]
            rig.sim.disconnect_streams()
            await eventually(lambda: len(events.stream()) == 2)
            _, resynced = one_gap_then_resync(events)
            assert resynced.recovered_fills == 1
            final = final_state(rig.ex, cid)
            assert final.status is FILLED
            assert_engine_matches_ledger(rig.sim, final)
            assert len(assert_fills_once(events, final)) == 1
            await assert_positions_match(rig)

    async def test_the_stream_works_again_after_the_resync(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 39: after the reconnect, new fills arrive on the stream, not by polling."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            rig.sim.disconnect_streams()
            await eventually(lambda: len(events.stream()) == 2)
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            cross(rig.sim, order, "0.010")
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED, within=5)
            assert [o["X"] for o in order_frames(rig.frames.delivered, cid)] == ["NEW", "FILLED"]
            assert_engine_matches_ledger(rig.sim, final_state(rig.ex, cid))

    async def test_a_fill_the_stream_delivers_during_the_resync_is_not_recovered(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 39: a fill that arrives on the new connection while it reconciles is not a gap's."""
        slow = attrs.evolve(STREAM_STILL, response_latency_s=0.5)  # the resync takes a while
        async with open_stream_engine(sim_config=slow) as rig, watch(rig.ex) as events:
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            listed: list[object] = []
            rig.tap.script(
                Rule(action=Mutate(edit=recorded(listed)), method="GET", path=OPEN_ORDERS)
            )
            rig.sim.disconnect_streams()
            await eventually(lambda: len(rig.frames.connects) == 2, step=0.01)
            assert not rig.stream.connected  # reconnected, still reconciling
            assert rig.tap.count("GET", OPEN_ORDERS) == 1
            cross(rig.sim, order, "0.010")  # the new connection carries the fill
            await eventually(lambda: len(events.stream()) == 2)
            _, resynced = one_gap_then_resync(events)
            (snapshot,) = listed  # the reconciliation's one openOrders answer listed it open
            assert isinstance(snapshot, list)
            assert [(o["clientOrderId"], o["status"], o["executedQty"]) for o in snapshot] == [
                (cid, "NEW", "0.000")
            ]
            assert [o["X"] for o in order_frames(rig.frames.delivered, cid)][-1] == "FILLED"
            assert rig.tap.count("GET", ORDER) == 0  # never looked up by itself
            final = final_state(rig.ex, cid)
            assert_engine_matches_ledger(rig.sim, final)
            assert len(assert_fills_once(events, final)) == 1
            assert resynced.recovered_fills == 0


LISTEN_KEY = "/fapi/v1/listenKey"


class TestRow40ListenKeyExpiry:
    """The listen key runs out: a new key, a new connection, the gap reconciled."""

    async def test_listen_key_expired_event(self, autojump_clock: trio.testing.MockClock) -> None:
        """Row 40: ``listenKeyExpired``, a fill right after: new key, reconnect, fill recovered."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            assert rig.sim.expire_listen_keys(notify=True)
            cross(rig.sim, order, "0.010")  # the expired connection gets no more events
            await eventually(lambda: len(events.stream()) == 2)
            _, resynced = one_gap_then_resync(events)
            assert resynced.recovered_fills == 1
            assert rig.stream.keys_created == 2
            assert rig.stream.connects == 2
            assert rig.stream.events.get("ListenKeyExpired") == 1
            assert rig.tap.count("POST", LISTEN_KEY) == 2
            final = final_state(rig.ex, cid)
            assert_engine_matches_ledger(rig.sim, final)
            assert len(assert_fills_once(events, final)) == 1
            # The new connection carries events again.
            again = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cross(rig.sim, again, "0.010")
            await eventually(
                lambda: final_state(rig.ex, again.client_order_id.value).status is FILLED
            )
            assert_engine_matches_ledger(rig.sim, final_state(rig.ex, again.client_order_id.value))

    async def test_keepalive_answered_unknown_key(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 40: the key dies silently; the next keep-alive gets -1125: new key, reconciled."""
        keepalive_s = 120.0
        async with (
            open_stream_engine(listen_key_keepalive_s=keepalive_s) as rig,
            watch(rig.ex) as events,
        ):
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            expired_at = trio.current_time()
            assert rig.sim.expire_listen_keys(notify=False)
            cross(rig.sim, order, "0.010")
            await eventually(lambda: len(events.stream()) == 2, within=3 * keepalive_s)
            gap, resynced = one_gap_then_resync(events)
            assert gap.at - expired_at <= keepalive_s  # the keep-alive found it, in time
            (put,) = rig.tap.requests("PUT", LISTEN_KEY)  # the keep-alive is what found it
            assert 0 <= gap.at - put.time_s < 1.0
            assert errors_by_code(rig.sim.stats()).get("-1125") == 1
            assert rig.stream.keys_created == 2
            assert resynced.recovered_fills == 1
            final = final_state(rig.ex, cid)
            assert_engine_matches_ledger(rig.sim, final)
            assert len(assert_fills_once(events, final)) == 1

    async def test_key_expired_while_disconnected(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 40: the key expires while the stream is down: a refused reconnect gets a new key."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            rig.sim.disconnect_streams()
            assert rig.sim.expire_listen_keys()  # no connection is open to be told
            cross(rig.sim, order, "0.010")
            await eventually(lambda: len(events.stream()) == 2, within=300)
            assert rig.stream.keys_created == 2
            assert [type(e) for e in events.stream()] == [StreamGap, StreamResynced]
            final = final_state(rig.ex, cid)
            assert final.status is FILLED
            assert_engine_matches_ledger(rig.sim, final)

    async def test_keepalive_is_not_starved_by_order_traffic(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 40: orders and queries saturate the limiter; the keep-alive still goes on time.

        The exchange allows 5 orders per 10 s and 120 weight per minute; 40
        placements and a stream of account reads wait in the limiter when the
        keep-alive falls due. It goes out at once (the PRIORITY lane, with its
        reserve), and nothing the engine sends is throttled.
        """
        keepalive_s = 60.0
        limits = (
            RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=120),
            RateLimit(kind="ORDERS", interval="SECOND", interval_num=10, limit=5),
            RateLimit(kind="ORDERS", interval="MINUTE", interval_num=1, limit=100),
        )
        waiting: dict[str, int] = {}
        async with open_stream_engine(
            sim_config=attrs.evolve(STREAM_STILL, rate_limits=limits),
            listen_key_keepalive_s=keepalive_s,
            order_deadline_s=STREAM_BOUND_S,
            deadman=False,
        ) as rig:

            async def on_send(seen: Seen) -> None:
                if (seen.method, seen.path) == ("PUT", LISTEN_KEY):
                    waiting.update(rig.ex.statistics().limiter.waiting_by_lane)

            (created,) = rig.tap.requests("POST", LISTEN_KEY)
            request = await resting_buy(rig.ex, qty=QTY)
            rig.tap.on_send = on_send

            async def read_account() -> None:
                while True:
                    await rig.ex.account()

            async with trio.open_nursery() as flood:
                for _ in range(40):
                    flood.start_soon(partial(rig.ex.place_order, request, strategy="flood"))
                for _ in range(20):
                    flood.start_soon(read_account)
                await eventually(
                    lambda: rig.tap.count("PUT", LISTEN_KEY) == 1, within=STREAM_BOUND_S
                )
                flood.cancel_scope.cancel()
            (put,) = rig.tap.requests("PUT", LISTEN_KEY)
            assert put.time_s - (created.time_s + keepalive_s) <= 1.0
            assert waiting.get("ORDER", 0) > 0
            assert waiting.get("QUERY", 0) > 0
            assert rig.stream.keepalives == 1
            assert rig.stream.connected
            assert rig.sim.stats()["rate_limited"] == 0


class TestRow41Disconnects:
    """The server closes, ages out or silently abandons the connection."""

    async def test_server_close_reconnects_with_backoff(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 41: five closes in a row: each reconnect waits longer, every one resynced."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            closed_at: list[float] = []

            def up_again() -> bool:
                return rig.stream.connects == len(closed_at) + 1 and rig.stream.connected

            for _ in range(5):
                await eventually(up_again)
                closed_at.append(trio.current_time())
                assert rig.sim.disconnect_streams() == 1
            await eventually(lambda: rig.stream.connects == 6 and rig.stream.connected)
            waits = [
                back - gone for gone, back in zip(closed_at, rig.frames.connects[1:], strict=True)
            ]
            assert all(w > 0 for w in waits), waits
            assert waits == sorted(waits), waits  # a streak of failures backs off further
            assert waits[-1] >= 4 * waits[0], waits
            assert waits[-1] <= 30.0, waits
            kinds = [type(e) for e in events.stream()]
            assert kinds == [StreamGap, StreamResynced] * 5
            assert rig.stream.gaps == 5
            assert rig.stream.resyncs == 6

    async def test_server_age_limit_disconnects(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 41: the server cuts connections at its age limit (24 h, here 10 min): reconnected."""
        config = attrs.evolve(STREAM_STILL, stream_max_age_s=600.0)
        async with open_stream_engine(sim_config=config) as rig, watch(rig.ex) as events:
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            await trio.sleep(35 * 60)
            assert rig.sim.stream_statistics().age_disconnects == 3
            assert rig.stream.connects == 4
            assert rig.stream.connected
            assert [type(e) for e in events.stream()] == [StreamGap, StreamResynced] * 3
            cross(rig.sim, order, "0.010")
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED, within=5)
            assert_engine_matches_ledger(rig.sim, final_state(rig.ex, cid))

    async def test_engine_rotates_before_the_24_hour_cut(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 41: a day and more on one key: the engine reconnects before the server's 24 h cut."""
        async with (
            open_stream_engine(
                deadman=False, stream_ping_interval_s=900.0, clock_sync_interval_s=3600.0
            ) as rig,
            watch(rig.ex) as events,
        ):
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            await trio.sleep(25 * 3600)
            assert rig.sim.stream_statistics().age_disconnects == 0
            assert rig.stream.connects == 2
            keys = rig.sim.exchange.listen_keys
            assert rig.sim.now_ms() < keys.expires_ms  # the key was kept alive all along
            assert "ListenKeyExpired" not in rig.stream.events
            assert rig.stream.connected
            assert [type(e) for e in events.stream()] == [StreamGap, StreamResynced]
            cross(rig.sim, order, "0.010")
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED, within=5)
            assert_engine_matches_ledger(rig.sim, final_state(rig.ex, cid))

    async def test_half_open_socket_is_found_by_the_ping_watchdog(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 41: no events and no pongs: detected within ping interval + pong timeout."""
        ping_s, pong_s = 20.0, 5.0
        async with (
            open_stream_engine(stream_ping_interval_s=ping_s, stream_pong_timeout_s=pong_s) as rig,
            watch(rig.ex) as events,
        ):
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            silent_at = trio.current_time()
            rig.sim.silence_streams(True)
            rig.sim.silence_streams(False)  # new connections are fine; this one stays dead
            cross(rig.sim, order, "0.010")
            await eventually(lambda: len(events.stream()) == 2, within=STREAM_BOUND_S)
            gap, resynced = one_gap_then_resync(events)
            assert gap.at - silent_at <= ping_s + pong_s
            assert resynced.recovered_fills == 1
            assert rig.stream.connects == 2
            final = final_state(rig.ex, cid)
            assert_engine_matches_ledger(rig.sim, final)
            assert len(assert_fills_once(events, final)) == 1


def corrupted(frame: str | bytes, **fields: object) -> str:
    """A copy of an ``ORDER_TRADE_UPDATE`` frame with some ``o`` fields overwritten."""
    event = decode(frame)
    event["o"] = {**event["o"], **fields}
    return json.dumps(event)


class TestRow42BadFrames:
    """Frames that are not events, or events of a type nobody knows."""

    async def test_skipped_counted_and_the_stream_keeps_working(
        self, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Row 42: garbage and unknown event types are counted and skipped; fills still arrive.

        What is logged about a bad frame never repeats the listen key a frame carries.
        """
        caplog.set_level(logging.DEBUG)
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            (new,) = [f for f in rig.frames.received if status_of(f) == "NEW"]
            key = rig.sim.exchange.listen_keys.key
            assert key is not None
            malformed: list[str | bytes] = [
                json.dumps({"e": "listenKeyExpired", "E": "soon", "listenKey": key}),
                json.dumps({"e": "ORDER_TRADE_UPDATE", "E": 1, "o": key}),
                "not json at all",
                b"\xff\xfe\x00 not utf-8",
                "[1, 2, 3]",
                '{"E": 1700000000000}',
                '{"e": 42}',
                '{"e": "ORDER_TRADE_UPDATE", "E": 1700000000000, "o": {"s": "BTCUSDT"}}',
                '{"e": "ACCOUNT_UPDATE", "E": "yesterday"}',
                "{" * 100_000,
                # Our own order, with quantities no exchange would send.
                corrupted(new, X="FILLED", x="TRADE", z="0.500", l="0.500", t=99),
                corrupted(new, X="FILLED", x="TRADE", z="1E-2", l="1E-2", t=98),
                corrupted(new, X="FILLED", x="TRADE", z="-0.010", l="0.010", t=97),
            ]
            unknown = [
                '{"e": "SOMETHING_BINANCE_ADDS_TOMORROW", "E": 1700000000000}',
                '{"e": "GRID_UPDATE", "E": 1700000000000, "gu": {}}',
                '{"e": "ORDER_TRADE_UPDATE_V2", "E": 1700000000000}',
            ]
            assert rig.frames.inject(*malformed, *unknown) == 1
            await eventually(lambda: len(rig.frames.delivered) >= len(malformed) + len(unknown))
            await trio.sleep(1)
            assert rig.stream.malformed == len(malformed)
            assert rig.stream.unknown_events == len(unknown)
            assert rig.stream.connected
            assert (rig.stream.gaps, rig.stream.connects) == (0, 1)
            assert final_state(rig.ex, cid).status is NEW  # no corrupt fill was applied
            assert final_state(rig.ex, cid).executed_qty == 0
            cross(rig.sim, order, "0.010")
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED, within=5)
            final = final_state(rig.ex, cid)
            assert_engine_matches_ledger(rig.sim, final)
            assert len(assert_fills_once(events, final)) == 1
            assert events.stream() == []
        assert rig.stream.malformed == len(malformed)
        assert key not in caplog.text
        assert "malformed" in caplog.text  # it was logged, redacted


class TestRow43ExternalOrders:
    """Orders the engine did not place: another process, a person, the liquidation engine."""

    async def test_never_reach_a_strategy_and_are_counted(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 43: foreign orders on our symbol and on another are external; ours still work."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            mine = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY), strategy="mm")
            for symbol, cid, qty in [
                ("BTCUSDT", "manual-from-the-web-ui", "0.010"),
                ("BTCUSDT", "autoclose-1700000000000", "0.010"),
                ("ETHUSDT", "other-process-42", "0.100"),
            ]:
                await external_order(
                    rig.sim,
                    symbol=symbol,
                    side="BUY",
                    type="MARKET",
                    quantity=qty,
                    newClientOrderId=cid,
                )
            await eventually(lambda: rig.stream.external == 2)  # ETHUSDT: no actor of ours
            await eventually(lambda: rig.symbol_stats().external_events == 4)
            foreign = {"manual-from-the-web-ui", "autoclose-1700000000000", "other-process-42"}
            published = {
                e.order.client_order_id.value
                for e in events.events()
                if isinstance(e, ORDER_EVENTS)
            }
            assert published == {mine.client_order_id.value}
            assert {o.client_order_id.value for o in rig.ex.orders()} == published
            assert not foreign & {o.client_order_id.value for o in rig.ex.orders()}
            assert rig.stream.connected
            assert rig.stream.gaps == 0
            cross(rig.sim, mine, "0.010")
            await eventually(
                lambda: final_state(rig.ex, mine.client_order_id.value).status is FILLED
            )
            assert_engine_matches_ledger(rig.sim, final_state(rig.ex, mine.client_order_id.value))
            assert rig.symbol_stats().stream_events == 4 + 2  # 4 foreign, our NEW and TRADE

    async def test_a_foreign_order_reusing_a_finished_id_is_not_ours(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 43: a person reuses the client id of our filled order: our order is untouched.

        Binance only requires a client order id to be unique among open orders,
        so once ours is FILLED another process may place a new order with the
        same id. Its events name another ``orderId``; they must not change our
        order or reach our strategy.
        """
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            mine = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY), strategy="mm")
            cid = mine.client_order_id.value
            cross(rig.sim, mine, "0.010")
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED)
            before = final_state(rig.ex, cid)
            published = len(events.of(cid))
            foreign = await external_order(
                rig.sim,
                symbol="BTCUSDT",
                side="SELL",
                type="MARKET",
                quantity="0.030",
                newClientOrderId=cid,
            )
            assert foreign["orderId"] != before.venue_order_id.value  # type: ignore[union-attr]
            await eventually(lambda: rig.symbol_stats().stream_events == 4)
            await trio.sleep(1)
            assert final_state(rig.ex, cid) == before
            assert len(events.of(cid)) == published


def stale(client_order_id: str, **fields: object) -> Callable[[object], object]:
    """A Mutate edit: the order's report (alone or in a list) as an older snapshot."""

    def older(item: object) -> object:
        if isinstance(item, dict) and item.get("clientOrderId") == client_order_id:
            return {**item, **fields, "updateTime": int(str(item["updateTime"])) - 5_000}
        return item

    def edit(payload: object) -> object:
        if isinstance(payload, list):
            return [older(item) for item in payload]
        return older(payload)

    return edit


NOTHING_FILLED = {"status": "NEW", "executedQty": "0", "cumQuote": "0", "avgPrice": "0"}


class TestRow44StaleSnapshot:
    """A REST answer that was true before the stream's latest fill."""

    async def test_a_stale_query_does_not_undo_a_fill(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 44: the stream said FILLED; a query answers an older NEW: still FILLED, no event."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            cross(rig.sim, order, "0.010")
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED)
            filled = final_state(rig.ex, cid)
            published = len(events.of(cid))
            rig.tap.script(
                Rule(action=Mutate(edit=stale(cid, **NOTHING_FILLED)), method="GET", path=ORDER)
            )
            answer = await rig.ex.query_order("BTCUSDT", cid)
            assert rig.tap.count("GET", ORDER) == 1
            assert answer == filled
            assert final_state(rig.ex, cid) == filled
            assert len(events.of(cid)) == published
            assert_engine_matches_ledger(rig.sim, final_state(rig.ex, cid))

    async def test_a_stale_partial_query_does_not_undo_a_fill(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 44: the stream said FILLED; a query answers an older PARTIALLY_FILLED: no change."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            cross(rig.sim, order, "0.004")
            cross(rig.sim, order, "0.006")
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED)
            filled = final_state(rig.ex, cid)
            older = {"status": "PARTIALLY_FILLED", "executedQty": "0.004", "cumQuote": "0"}
            rig.tap.script(Rule(action=Mutate(edit=stale(cid, **older)), method="GET", path=ORDER))
            assert await rig.ex.query_order("BTCUSDT", cid) == filled
            assert rig.tap.count("GET", ORDER) == 1  # the stale answer was really given
            assert final_state(rig.ex, cid) == filled
            assert_fills_once(events, final_state(rig.ex, cid))
            assert_never_regresses(events, cid)

    async def test_a_stale_resync_snapshot_does_not_undo_a_partial_fill(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 44: the reconnect's openOrders predates the stream's partial fill: it stays."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            cross(rig.sim, order, "0.004")
            await eventually(lambda: final_state(rig.ex, cid).status is PARTIAL)
            rig.tap.script(
                Rule(
                    action=Mutate(edit=stale(cid, **NOTHING_FILLED)),
                    method="GET",
                    path=OPEN_ORDERS,
                ),
                Rule(action=Mutate(edit=stale(cid, **NOTHING_FILLED)), method="GET", path=ORDER),
            )
            rig.sim.disconnect_streams()
            await eventually(lambda: len(events.stream()) == 2)
            assert rig.tap.count("GET", OPEN_ORDERS) == 1
            assert final_state(rig.ex, cid).status is PARTIAL
            assert final_state(rig.ex, cid).executed_qty == Decimal("0.004")
            rig.tap.script()
            cross(rig.sim, order, "0.006")
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED)
            final = final_state(rig.ex, cid)
            assert_engine_matches_ledger(rig.sim, final)
            assert [f.last_qty for f in assert_fills_once(events, final)] == [
                Decimal("0.004"),
                Decimal("0.006"),
            ]
            assert_never_regresses(events, cid)

    async def test_a_query_inside_the_lag_does_not_undo_a_fill(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Row 44: right after a stream fill, the query endpoint does not show the order yet."""
        async with open_stream_engine() as rig, watch(rig.ex) as events:
            rig.sim.set_faults(FaultPlan(query_lag_ms=60_000))
            order = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY))
            cid = order.client_order_id.value
            cross(rig.sim, order, "0.010")
            await eventually(lambda: final_state(rig.ex, cid).status is FILLED)
            filled = final_state(rig.ex, cid)
            assert await rig.ex.query_order("BTCUSDT", cid) == filled
            lagged = [f for f in rig.sim.injected_faults() if f.kind is FaultKind.QUERY_LAG]
            assert [f.client_order_id for f in lagged] == [cid]  # answered -2013
            assert final_state(rig.ex, cid) == filled
            assert len(assert_fills_once(events, filled)) == 1
