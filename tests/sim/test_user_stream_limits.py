"""The server's own limits: 24 h connections, slow readers, shutdown (faults.md row 41)."""

from __future__ import annotations

import attrs
import httpx
import pytest
import trio

from trio_fapi.protocol.stream_transport import StreamClosed
from trio_fapi.sim import SimConfig, default_config, open_sim

from .conftest import SimClient, stream_config
from .user_stream_support import keepalive, market, new_key, receive_all, url

DAY_S = 24 * 3600.0


class TestDefaults:
    """Binance's numbers are the defaults."""

    def test_buffer_and_age(self) -> None:
        cfg = default_config()
        assert (cfg.stream_buffer_frames, cfg.stream_max_age_s) == (1000, DAY_S)
        assert cfg.listen_key_ttl_ms == 60 * 60 * 1000

    def test_nonsense_is_refused(self) -> None:
        with pytest.raises(ValueError):
            attrs.evolve(default_config(), stream_buffer_frames=0)
        with pytest.raises(ValueError):
            attrs.evolve(default_config(), stream_max_age_s=0.0)


class TestMaxAge:
    """A connection is closed by the server when it is 24 hours old, however busy."""

    async def test_closed_at_24_hours_exactly(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            opened = trio.current_time()
            async with trio.open_nursery() as nursery:

                async def keep_key_alive() -> None:
                    while True:
                        await trio.sleep(30 * 60)
                        assert await keepalive(stream_client, key) == {"listenKey": key}

                nursery.start_soon(keep_key_alive)
                await trio.sleep(DAY_S - 0.001)
                await conn.ping()
                await market(stream_client, "BUY", "0.010", "last-minute")
                assert len(await receive_all(conn, quiet_s=0.0005)) == 3
                with pytest.raises(StreamClosed, match="maximum age") as closed:
                    await conn.get_message()
                nursery.cancel_scope.cancel()
            assert trio.current_time() - opened == pytest.approx(DAY_S, abs=0.001)
            assert "maximum age" in closed.value.reason
            async with sim.stream_connector.connect(url(stream_client, key)) as again:
                await again.ping()  # the key is still good: reconnecting is enough
        assert sim.stream_statistics().age_disconnects == 1
        assert sim.injected_faults() == ()  # a limit of the server, not an injected fault

    async def test_the_limit_is_configurable(self, autojump_clock: trio.testing.MockClock) -> None:
        cfg: SimConfig = attrs.evolve(stream_config(), stream_max_age_s=90.0)
        async with (
            open_sim(cfg) as sim,
            httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
        ):
            client = SimClient(http, sim)
            key = await new_key(client)
            await trio.sleep(30)
            async with sim.stream_connector.connect(url(client, key)) as conn:
                start = trio.current_time()
                with pytest.raises(StreamClosed):
                    await conn.get_message()
                assert trio.current_time() - start == pytest.approx(90.0)


class TestSlowReader:
    """A reader that falls a buffer behind is disconnected; the exchange never waits for it."""

    async def test_overflow_disconnects_only_the_slow_connection(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        cfg = attrs.evolve(stream_config(), stream_buffer_frames=10)
        async with (
            open_sim(cfg) as sim,
            httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
        ):
            client = SimClient(http, sim)
            key = await new_key(client)
            async with (
                sim.stream_connector.connect(url(client, key)) as slow,
                sim.stream_connector.connect(url(client, key)) as keen,
            ):
                keen_events: list[object] = []
                for i in range(3):  # 9 frames: the slow reader's buffer still has room
                    await market(client, "BUY", "0.010", f"fits-{i}")
                    keen_events += await receive_all(keen, quiet_s=0.001)
                with trio.fail_after(1):  # the 11th frame for the slow reader must not block
                    await market(client, "SELL", "0.010", "overflows")
                keen_events += await receive_all(keen)
                with pytest.raises(StreamClosed, match="slow reader"):
                    await slow.get_message()  # its 10 buffered frames are lost with it
                await keen.ping()
            assert len(keen_events) == 12
            stats = sim.stream_statistics()
            assert (stats.slow_reader_disconnects, stats.open_connections) == (1, 0)
            assert sim.ledger()["executions"] == 4

    async def test_the_default_buffer_holds_a_thousand_frames(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            for i in range(333):  # 999 frames, unread
                await market(stream_client, "BUY" if i % 2 else "SELL", "0.010", f"f-{i}")
                await trio.sleep(0.05)  # within the ORDERS limit of 300 per 10 s
            assert sim.stream_statistics().slow_reader_disconnects == 0
            await market(stream_client, "BUY", "0.010", "the-1000th-and-more")
            assert sim.stream_statistics().slow_reader_disconnects == 1
            with pytest.raises(StreamClosed):
                await conn.get_message()


class TestShutdown:
    """Leaving ``open_sim`` ends every connection, and no new one opens."""

    async def test_readers_see_the_end(self, autojump_clock: trio.testing.MockClock) -> None:
        async with (
            open_sim(stream_config()) as sim,
            httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
        ):
            key = await new_key(SimClient(http, sim))
            connector = sim.stream_connector
            stream = f"{sim.stream_url}/ws/{key}"
            outcome: list[str] = []
            async with connector.connect(stream) as conn, trio.open_nursery() as nursery:

                async def read() -> None:
                    try:
                        await conn.get_message()
                    except StreamClosed as exc:
                        outcome.append(exc.reason)

                nursery.start_soon(read)
                await trio.testing.wait_all_tasks_blocked()
                sim.user_stream.close()
        assert outcome == ["the simulated exchange shut down"]
        with pytest.raises(StreamClosed, match="shut down"):
            async with connector.connect(stream):
                pass
