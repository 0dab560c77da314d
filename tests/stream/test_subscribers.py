"""A subscriber that reads too slowly loses notifications, never order state.

The event bus never blocks an actor: a full subscriber channel drops the
event and, at the next delivery, tells that subscriber how many it missed
(:class:`EventsDropped`). The orders themselves live in the symbol actors, so
``Executor.orders()`` stays exact whatever the subscribers do.
"""

from __future__ import annotations

import trio
import trio.testing

from tests.faults.support import assert_engine_matches_ledger, resting_buy
from trio_fapi.protocol.enums import OrderStatus
from trio_fapi.protocol.messages import EventsDropped, OrderSubmitted

from .support import QTY, cross, eventually, open_stream_engine, watch

SLOW_BUFFER = 2


async def test_a_slow_subscriber_is_told_how_many_events_it_missed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Three orders fill on the stream while one subscriber sleeps: it gets an exact count."""
    async with (
        open_stream_engine() as rig,
        watch(rig.ex) as everyone,
        rig.ex.subscribe(SLOW_BUFFER) as slow,
    ):
        orders = [
            await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY, ticks=50 + i))
            for i in range(3)
        ]
        for order in orders:
            cross(rig.sim, order, "0.010")
        await eventually(lambda: all(o.status is OrderStatus.FILLED for o in rig.ex.orders()))
        await trio.sleep(1)
        published = everyone.events()
        missed = len(published) - SLOW_BUFFER
        assert missed >= 3 * 3  # submitted, accepted and filled per order, at least
        assert rig.ex.statistics().events_dropped == missed
        # The slow subscriber got the first events, then nothing.
        first = [slow.receive_nowait() for _ in range(SLOW_BUFFER)]
        assert first == published[:SLOW_BUFFER]
        # The next delivery starts with the count of what it missed.
        later = await rig.ex.place_order(await resting_buy(rig.ex, qty=QTY, ticks=70))
        assert slow.receive_nowait() == EventsDropped(count=missed)
        since = everyone.events()[len(published) :]
        assert isinstance(since[0], OrderSubmitted)
        assert since[0].order.client_order_id == later.client_order_id
        assert slow.receive_nowait() == since[0]
        # The count took one slot, the next event the other; the rest are counted again.
        assert rig.ex.statistics().events_dropped == missed + len(since) - 1
        # Order state was never lost.
        for order in rig.ex.orders():
            assert_engine_matches_ledger(rig.sim, order)
        assert [o.status for o in rig.ex.orders()] == [OrderStatus.FILLED] * 3 + [OrderStatus.NEW]
