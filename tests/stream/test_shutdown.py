"""The stream's part in a clean shutdown: the listen key is given back.

``actors/user_stream.py`` promises to close the listen key (``DELETE
/fapi/v1/listenKey``) when the executor stops, so no key of a stopped process
stays alive on the account for the rest of its hour.
"""

from __future__ import annotations

import trio
import trio.testing

from tests.faults.support import Tap
from trio_fapi import open_executor
from trio_fapi.sim import open_sim

from .support import STREAM_STILL, FrameTap, stream_config_for

LISTEN_KEY = "/fapi/v1/listenKey"


async def test_the_listen_key_is_closed_on_shutdown(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Leaving ``open_executor`` deletes the listen key and closes the connection."""
    async with open_sim(STREAM_STILL) as sim:
        tap = Tap(sim.transport)
        frames = FrameTap(sim.stream_connector)
        async with open_executor(stream_config_for(sim), transport=tap, stream_connector=frames):
            assert sim.stream_statistics().open_connections == 1
        assert sim.stream_statistics().open_connections == 0
        assert tap.count("DELETE", LISTEN_KEY) == 1
        assert sim.exchange.listen_keys.key is None
