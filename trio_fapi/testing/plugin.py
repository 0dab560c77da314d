"""pytest fixtures for testing strategies against the simulated exchange.

Installed as a pytest plugin (entry point ``trio_fapi``), so in any project that
depends on trio-fapi and runs pytest-trio::

    async def test_my_strategy(trio_fapi_executor, autojump_clock):
        order = await trio_fapi_executor.place_order(OrderRequest.market("BTCUSDT", "BUY", "0.002"))
        assert order.status is OrderStatus.FILLED

Everything runs in-process: no sockets, so trio's autojump clock makes a minute
of market time take milliseconds. Override ``trio_fapi_sim_config`` or
``trio_fapi_executor_config`` to change the exchange or the engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from trio_fapi.actors.executor import Executor, open_executor
from trio_fapi.config import ExecutorConfig
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.sim import SimConfig, SimHandle, default_config, open_sim

__all__ = [
    "trio_fapi_executor",
    "trio_fapi_executor_config",
    "trio_fapi_sim",
    "trio_fapi_sim_config",
]


@pytest.fixture
def trio_fapi_sim_config() -> SimConfig:
    """The simulated exchange's configuration (seeded, three symbols)."""
    return default_config(seed=1)


@pytest.fixture
async def trio_fapi_sim(trio_fapi_sim_config: SimConfig) -> AsyncIterator[SimHandle]:
    """A running in-process simulated exchange."""
    async with open_sim(trio_fapi_sim_config) as sim:
        yield sim


@pytest.fixture
def trio_fapi_executor_config(trio_fapi_sim: SimHandle) -> ExecutorConfig:
    """Engine settings pointing at the in-process exchange."""
    return ExecutorConfig(
        base_url=trio_fapi_sim.base_url,
        stream_url=trio_fapi_sim.stream_url,
        credentials=Credentials(
            api_key=trio_fapi_sim.config.api_key, api_secret=trio_fapi_sim.config.api_secret
        ),
        seed=1,
    )


@pytest.fixture
async def trio_fapi_executor(
    trio_fapi_sim: SimHandle, trio_fapi_executor_config: ExecutorConfig
) -> AsyncIterator[Executor]:
    """A running executor trading on the in-process exchange, user-data stream included."""
    async with open_executor(
        trio_fapi_executor_config,
        transport=trio_fapi_sim.transport,
        stream_connector=trio_fapi_sim.stream_connector,
    ) as ex:
        yield ex
