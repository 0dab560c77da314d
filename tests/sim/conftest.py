"""Fixtures for the simulated exchange: a running sim and a small signed client.

The client signs exactly as binance-futures-connector does (through
``trio_fapi.actors._signing``), so a signature the sim accepts here is one it
accepts from the connector.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

import attrs
import httpx
import pytest

from trio_fapi.actors._signing import encode_params, signed_query
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.protocol.enums import OrderSide, OrderType, PositionSide, TimeInForce
from trio_fapi.sim import SimConfig, SimHandle, SimulatedExchange, default_config, open_sim
from trio_fapi.sim.commands import NewOrder
from trio_fapi.sim.records import SimOrder

T0 = 1_700_000_000_000
Pairs = Sequence[tuple[str, str]]


def still_config() -> SimConfig:
    """The default symbols with a still market (prices move only when pushed)."""
    return default_config().still_market()


def thin_btc_config() -> SimConfig:
    """A still market whose BTC levels hold 0.005 each, for partial fills."""
    cfg = default_config().still_market()
    btc = attrs.evolve(cfg.symbols[0], level_qty=Decimal("0.005"))
    return attrs.evolve(cfg, symbols=(btc, *cfg.symbols[1:]))


def new_exchange(config: SimConfig | None = None) -> SimulatedExchange:
    """A pure exchange at ``T0`` (no actor, no trio)."""
    return SimulatedExchange(config or still_config(), start_ms=T0)


def place(
    exchange: SimulatedExchange,
    side: str,
    qty: str,
    price: str | None = None,
    *,
    symbol: str = "BTCUSDT",
    tif: str | None = None,
    now_ms: int | None = None,
    reduce_only: bool = False,
    position_side: str | None = None,
    client_order_id: str | None = None,
) -> SimOrder:
    """Accept and match an order straight on the ledger (LIMIT if a price is given)."""
    order_type = OrderType.LIMIT if price is not None else OrderType.MARKET
    cmd = NewOrder(
        symbol=symbol,
        side=OrderSide(side),
        order_type=order_type,
        quantity=Decimal(qty),
        price=Decimal(price) if price is not None else None,
        time_in_force=TimeInForce(tif or "GTC") if price is not None else None,
        reduce_only=reduce_only,
        position_side=PositionSide(position_side) if position_side else None,
        client_order_id=client_order_id,
    )
    now = exchange.now_ms if now_ms is None else now_ms
    order = exchange.ledger.accept(cmd, now)
    exchange.ledger.execute(order, now)
    return order


class SimClient:
    """Signed and unsigned calls against a running sim, the connector's way."""

    def __init__(self, http: httpx.AsyncClient, sim: SimHandle) -> None:
        self.http = http
        self.sim = sim

    async def signed(
        self,
        method: str,
        path: str,
        params: Pairs = (),
        *,
        key: str | None = "sim-key",
        secret: str = "sim-secret",
        timestamp: int | None = None,
        recv_window: int | None = None,
    ) -> httpx.Response:
        """A SIGNED call with every parameter in the query string."""
        creds = Credentials(api_key=key or "none", api_secret=secret)
        ts = self.sim.now_ms() if timestamp is None else timestamp
        query = signed_query(creds, list(params), timestamp_ms=ts, recv_window_ms=recv_window)
        headers = {"X-MBX-APIKEY": key} if key is not None else {}
        return await self.http.request(method, f"{path}?{query}", headers=headers)

    async def public(
        self, method: str, path: str, params: Pairs = (), *, key: str | None = None
    ) -> httpx.Response:
        """An unsigned call (market data, listenKey)."""
        query = encode_params(list(params))
        headers = {"X-MBX-APIKEY": key} if key is not None else {}
        url = f"{path}?{query}" if query else path
        return await self.http.request(method, url, headers=headers)

    async def order(self, **params: str) -> httpx.Response:
        """``POST /fapi/v1/order`` with RESULT answers unless told otherwise."""
        params.setdefault("newOrderRespType", "RESULT")
        return await self.signed("POST", "/fapi/v1/order", list(params.items()))


@pytest.fixture
async def sim() -> AsyncIterator[SimHandle]:
    """A running in-process sim with a still market.

    Tests where time passes also take ``autojump_clock`` (pytest-trio picks the
    clock from the test's own arguments), so they run in virtual time.
    """
    async with open_sim(still_config()) as handle:
        yield handle


@pytest.fixture
async def client(sim: SimHandle) -> AsyncIterator[SimClient]:
    """A client wired to :func:`sim` through its transport."""
    async with httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http:
        yield SimClient(http, sim)


def stream_config() -> SimConfig:
    """A still market that ticks once a minute, so hours of virtual time pass quickly.

    The market never moves on its own here, so the tick only paces timers the
    stream tests do not use; prices still react at once to ``set_price``.
    """
    return attrs.evolve(still_config(), tick_s=60.0)


@pytest.fixture
async def stream_sim() -> AsyncIterator[SimHandle]:
    """A running sim for user-data stream tests (see :func:`stream_config`)."""
    async with open_sim(stream_config()) as handle:
        yield handle


@pytest.fixture
async def stream_client(stream_sim: SimHandle) -> AsyncIterator[SimClient]:
    """A client wired to :func:`stream_sim` through its transport."""
    async with httpx.AsyncClient(
        transport=stream_sim.transport, base_url=stream_sim.base_url
    ) as http:
        yield SimClient(http, stream_sim)
