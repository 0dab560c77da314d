"""The whole engine over real sockets: httpx and trio-websocket against a loopback simulator.

Real sockets need trio's real clock (faults.md part d, item 1), so this one
test runs in real time, bounded by ``trio.fail_after``, on 127.0.0.1 only. The
executor gets no transport and no stream connector: it talks HTTP with httpx
and derives the stream URL (``ws://127.0.0.1:<port>``) from its base URL.
"""

from __future__ import annotations

import gc
from decimal import Decimal
from functools import partial

import pytest
import trio

from trio_fapi import Credentials, ExecutorConfig, OrderRequest, OrderStatus, open_executor
from trio_fapi.protocol.messages import AccountChanged
from trio_fapi.sim import serve_sim

from .support import STREAM_STILL, Events, eventually


@pytest.mark.loopback
async def test_a_fill_arrives_over_a_real_websocket() -> None:
    """An ACK-only market order: the fill can only come from the stream, and it does."""
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(partial(serve_sim, STREAM_STILL, port=0))
            config = ExecutorConfig(
                base_url=f"http://127.0.0.1:{port}",
                credentials=Credentials(
                    api_key=STREAM_STILL.api_key, api_secret=STREAM_STILL.api_secret
                ),
                seed=1,
                poll_interval_s=3600.0,
                stream_poll_interval_s=3600.0,
                deadman=False,
            )
            async with open_executor(config) as ex, ex.subscribe(1000) as channel:
                events = Events(channel)
                stats = ex.statistics().stream
                assert stats is not None
                assert stats.connected
                # ACK: the REST answer says only NEW; the fill is news from the stream.
                request = OrderRequest.market("BTCUSDT", "BUY", "0.010", response_type="ACK")
                placed = await ex.place_order(request)
                cid = placed.client_order_id.value
                with trio.fail_after(5):
                    await eventually(
                        lambda: events.statuses(cid)[-1:] == [OrderStatus.FILLED], step=0.01
                    )
                (order,) = ex.orders()
                assert order.executed_qty == Decimal("0.010")
                (symbol,) = ex.statistics().symbols
                assert symbol.stream_events >= 2  # NEW and TRADE
                stream = ex.statistics().stream
                assert stream is not None
                assert stream.connected
                assert stream.connects == 1
                assert stream.events.get("OrderTradeUpdate", 0) >= 2
                assert any(isinstance(e, AccountChanged) for e in events.events())
                assert sum(f.last_qty for f in events.fills(cid)) == Decimal("0.010")
            nursery.cancel_scope.cancel()
    gc.collect()  # an unclosed socket would warn now, inside the test (warnings are errors)
