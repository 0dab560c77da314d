"""``ExchangeClient``: the first design notes' call shapes, over the executor.

For code written against a plain async client
(``await client.create_limit_order("BTCUSDT", "BUY", "0.002", "60000")``). Every
call goes through the same actors as :func:`open_executor`: validation before
I/O, the rate limiter, the REST pool, the symbol actors.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType

import httpx

from trio_fapi.config import BINANCE_FAPI_URL, BINANCE_TESTNET_URL, ExecutorConfig
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.protocol.enums import MarginType, OrderSide, TimeInForce
from trio_fapi.protocol.errors import NotFound
from trio_fapi.protocol.filters import ExchangeInfo
from trio_fapi.protocol.ids import ClientOrderId
from trio_fapi.protocol.messages import OrderSnapshot
from trio_fapi.protocol.orders import OrderRequest
from trio_fapi.protocol.wire import (
    AccountInfo,
    Balance,
    BookTicker,
    Kline,
    OrderBook,
    Position,
    PriceTicker,
    VenueOrder,
)

from .executor import Executor, HealthStatus, open_executor
from .limiter import RateLimiter

__all__ = ["ExchangeClient"]


class ExchangeClient:
    """An async Binance USD-M client with the engine underneath.

    Use it as ``async with ExchangeClient(key, secret, base_url=...) as ec:``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        base_url: str | None = None,
        testnet: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        strategy: str = "default",
        config: ExecutorConfig | None = None,
    ) -> None:
        credentials = (
            Credentials(api_key=api_key, api_secret=api_secret)
            if api_key is not None and api_secret is not None
            else None
        )
        url = base_url or (BINANCE_TESTNET_URL if testnet else BINANCE_FAPI_URL)
        if config is not None and (credentials is not None or base_url is not None):
            raise ValueError("pass keys and base_url, or a config, not both")
        if config is None:
            config = ExecutorConfig(base_url=url, credentials=credentials)
        self._config = config
        self._transport = transport
        self._strategy = strategy
        self._stack: AsyncExitStack | None = None
        self._executor: Executor | None = None

    def __repr__(self) -> str:
        return f"ExchangeClient(base_url={self._config.base_url!r}, strategy={self._strategy!r})"

    async def __aenter__(self) -> ExchangeClient:
        self._stack = AsyncExitStack()
        await self._stack.__aenter__()
        self._executor = await self._stack.enter_async_context(
            open_executor(self._config, transport=self._transport)
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._stack is not None
        self._executor = None
        await self._stack.__aexit__(exc_type, exc, tb)

    @property
    def executor(self) -> Executor:
        """The running executor (inside the ``async with`` block only)."""
        if self._executor is None:
            raise RuntimeError("use ExchangeClient inside 'async with'")
        return self._executor

    @property
    def rate_limiter(self) -> RateLimiter:
        """The shared limiter: ``get_status()``, ``reset()``, ``wait_for_capacity()``."""
        return self.executor.rate_limiter

    # -- orders ------------------------------------------------------------------------

    async def _place(self, request: OrderRequest) -> OrderSnapshot:
        return await self.executor.place_order(request, strategy=self._strategy)

    async def create_market_order(
        self, symbol: str, side: OrderSide | str, quantity: object, **options: object
    ) -> OrderSnapshot:
        """Place a MARKET order. Quantities are Decimal or strings, never float."""
        return await self._place(OrderRequest.market(symbol, side, quantity, **options))

    async def create_limit_order(
        self,
        symbol: str,
        side: OrderSide | str,
        quantity: object,
        price: object,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        **options: object,
    ) -> OrderSnapshot:
        """Place a LIMIT order (GTC by default; GTX is post-only)."""
        return await self._place(
            OrderRequest.limit(
                symbol, side, quantity, price, time_in_force=time_in_force, **options
            )
        )

    async def create_stop_market_order(
        self,
        symbol: str,
        side: OrderSide | str,
        quantity: object,
        stop_price: object,
        **options: object,
    ) -> OrderSnapshot:
        """Place a STOP_MARKET order (through the algo endpoints)."""
        return await self._place(
            OrderRequest.stop_market(symbol, side, stop_price, quantity, **options)
        )

    async def create_take_profit_market_order(
        self,
        symbol: str,
        side: OrderSide | str,
        quantity: object,
        stop_price: object,
        **options: object,
    ) -> OrderSnapshot:
        """Place a TAKE_PROFIT_MARKET order (through the algo endpoints)."""
        return await self._place(
            OrderRequest.take_profit_market(symbol, side, stop_price, quantity, **options)
        )

    def _client_id(self, order_id: int | None, client_order_id: str | None) -> ClientOrderId:
        if client_order_id is not None:
            return ClientOrderId(client_order_id)
        for snap in self.executor.orders(strategy=self._strategy):
            if snap.venue_order_id is not None and snap.venue_order_id.value == order_id:
                return snap.client_order_id
        raise NotFound(what=f"order {order_id} was not placed by this client")

    async def cancel_order(
        self, symbol: str, order_id: int | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot:
        """Cancel by exchange ``order_id`` or by ``client_order_id``."""
        cid = self._client_id(order_id, client_order_id)
        return await self.executor.cancel_order(symbol, cid, strategy=self._strategy)

    async def cancel_all_orders(self, symbol: str) -> tuple[OrderSnapshot, ...]:
        """Cancel this client's open orders on ``symbol``."""
        return await self.executor.cancel_all_orders(symbol, strategy=self._strategy)

    async def get_order(
        self, symbol: str, order_id: int | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot:
        """The order's current state, queried from the exchange."""
        cid = self._client_id(order_id, client_order_id)
        return await self.executor.query_order(symbol, cid, strategy=self._strategy)

    async def get_open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        """Open orders as the exchange lists them."""
        return await self.executor.open_orders(symbol)

    async def get_all_orders(self, symbol: str, limit: int = 500) -> list[VenueOrder]:
        """Recent orders of ``symbol``."""
        return await self.executor.all_orders(symbol, limit=limit)

    # -- account -------------------------------------------------------------------------

    async def get_position_risk(self, symbol: str | None = None) -> list[Position]:
        """Positions."""
        return await self.executor.positions(symbol)

    async def get_balance(self) -> list[Balance]:
        """Balances."""
        return await self.executor.balances()

    async def get_account_info(self) -> AccountInfo:
        """Account totals, assets and positions."""
        return await self.executor.account()

    async def change_leverage(self, symbol: str, leverage: int) -> int:
        """Set leverage; returns the leverage set."""
        return await self.executor.change_leverage(symbol, leverage)

    async def change_margin_type(self, symbol: str, margin_type: MarginType | str) -> None:
        """Set ISOLATED or CROSSED."""
        await self.executor.change_margin_type(symbol, margin_type)

    # -- market data ---------------------------------------------------------------------

    async def get_exchange_info(self) -> ExchangeInfo:
        """Symbol rules and rate limits."""
        return await self.executor.exchange_info()

    async def get_klines(self, symbol: str, interval: str = "1m", limit: int = 100) -> list[Kline]:
        """Candlesticks."""
        return await self.executor.klines(symbol, interval, limit=limit)

    async def get_ticker(self, symbol: str) -> PriceTicker:
        """Last price."""
        return await self.executor.ticker_price(symbol)

    async def get_book_ticker(self, symbol: str) -> BookTicker:
        """Best bid and ask."""
        return await self.executor.book_ticker(symbol)

    async def get_order_book(self, symbol: str, limit: int = 20) -> OrderBook:
        """Depth snapshot."""
        return await self.executor.order_book(symbol, limit=limit)

    async def get_server_time(self) -> int:
        """Exchange time, epoch ms."""
        return await self.executor.server_time()

    async def health_check(self) -> HealthStatus:
        """Ping and clock check; never raises."""
        return await self.executor.health_check()
