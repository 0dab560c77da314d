"""Wiring and supervision: the executor starts every actor and stops them cleanly.

``open_executor`` opens one nursery and starts, in dependency order, the
rate limiter, the REST worker pool and (lazily, on first use of a symbol) one
order actor per symbol. It syncs the clock against ``/fapi/v1/time``, loads
exchangeInfo (symbol filters and rate limits) and, with credentials, the
account's position mode, all before it yields. On exit it stops accepting work,
lets in-flight requests finish within ``drain_s``, then cancels what is left.

Everything that can be refused locally is refused here, before any I/O: unknown
symbols, filter violations, position-mode mismatches (faults.md rows 54-61).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import attrs
import httpx
import trio

from trio_fapi._time import AnchoredClock
from trio_fapi.config import ExecutorConfig
from trio_fapi.protocol.endpoints import endpoint
from trio_fapi.protocol.enums import MarginType, PositionSide
from trio_fapi.protocol.errors import (
    EngineClosed,
    EngineError,
    InvalidCombination,
    Overloaded,
    UnknownSymbol,
)
from trio_fapi.protocol.filters import (
    DEFAULT_RATE_LIMITS,
    ExchangeInfo,
    SymbolRules,
    scale_rate_limits,
)
from trio_fapi.protocol.ids import ClientOrderId, Symbol
from trio_fapi.protocol.messages import (
    CancelAllDone,
    CancelAllOrders,
    CancelOrder,
    Lane,
    OrderCommand,
    OrderEvent,
    OrderFailed,
    OrderReply,
    OrderSnapshot,
    PlaceOrder,
    QueryOrder,
    RestSucceeded,
)
from trio_fapi.protocol.orders import OrderRequest
from trio_fapi.protocol.trades import AccountTrade
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

from .clock_sync import ClockSync, ClockSyncStatistics
from .deadman import DeadManStatistics, DeadManSwitch
from .events import EventBus
from .limiter import LimiterStatistics, RateLimiter
from .reply import OneShot
from .requester import Requester
from .rest_pool import RestPoolStatistics, RestWorkerPool
from .symbol_actor import OrderActorConfig, SymbolOrderActor, SymbolStatistics

__all__ = ["Executor", "ExecutorStatistics", "HealthStatus", "StrategyHandle", "open_executor"]

_ENGINE = "_engine"


@attrs.frozen(kw_only=True)
class HealthStatus:
    """The answer of :meth:`Executor.health_check`."""

    ok: bool
    latency_s: float
    server_time_ms: int | None
    clock_offset_ms: int
    error: str | None = None


@attrs.frozen(kw_only=True)
class ExecutorStatistics:
    """A snapshot of every actor."""

    limiter: LimiterStatistics
    rest: RestPoolStatistics
    symbols: tuple[SymbolStatistics, ...]
    clock_offset_ms: int
    clock: ClockSyncStatistics
    deadman: DeadManStatistics | None
    events_dropped: int


class _SharedTransport(httpx.AsyncBaseTransport):
    """Lets several clients use one transport without closing it on exit."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None


def _session_tag(clock_ms: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    n, out = clock_ms // 1000, ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out[-6:] or "0"


class Executor:
    """The handle ``open_executor`` yields. Safe to share between strategies."""

    def __init__(
        self,
        config: ExecutorConfig,
        nursery: trio.Nursery,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.config = config
        self._nursery = nursery
        self._clock = AnchoredClock()
        self._clock_sync = ClockSync(
            fetch_server_ms=self._fetch_server_ms,
            clock=self._clock,
            samples=config.clock_sync_samples,
            min_samples=min(3, config.clock_sync_samples),
            interval_s=config.clock_sync_interval_s,
        )
        self._rng = random.Random(config.seed)
        self._limiter = RateLimiter(
            clock_ms=self._server_ms,
            rate_limits=scale_rate_limits(DEFAULT_RATE_LIMITS, config.rate_limit_fraction),
            reserve_fraction=config.limiter_reserve_fraction,
            adaptive=config.limiter_adaptive,
            max_waiting=config.limiter_max_waiting,
            max_waiting_per_strategy=config.limiter_max_waiting_per_strategy,
            shares=config.strategy_shares,
        )
        self._limiter_root = self._limiter.sender()
        self._pool = RestWorkerPool(
            base_url=config.base_url,
            credentials=config.credentials,
            clock_ms=self._clock,
            server_offset_ms=self._clock_sync.offset_ms,
            limiter=self._limiter.sender(),
            transport_factory=(lambda: _SharedTransport(transport)) if transport else None,
            workers=config.rest_workers,
            recv_window_ms=config.recv_window_ms,
            proxy=config.proxy,
        )
        self._pool_root = self._pool.sender()
        self._requester = self._new_requester()
        self._bus = EventBus()
        self._deadman = (
            DeadManSwitch(
                send=self._send_countdown,
                countdown_ms=config.deadman_countdown_ms,
                refresh_s=config.deadman_refresh_s,
            )
            if config.deadman and config.credentials is not None
            else None
        )
        self._info: ExchangeInfo | None = None
        self._dual_side: bool | None = None
        self._actors: dict[Symbol, SymbolOrderActor] = {}
        self._actors_done: list[trio.Event] = []
        self._actor_lock = trio.Lock()
        self._closed = False
        self._session = config.session or _session_tag(self._clock())
        self._actor_config = OrderActorConfig(
            session=self._session,
            recv_window_ms=config.recv_window_ms,
            request_timeout_s=config.request_timeout_s,
            max_in_flight=config.max_in_flight_per_symbol,
            poll_interval_s=config.poll_interval_s,
            query_lag_s=config.query_lag_s,
            unknown_resolution_s=config.unknown_resolution_s,
        )

    def _server_ms(self) -> int:
        return self._clock_sync.now_ms()

    async def _fetch_server_ms(self) -> int:
        payload = await self._call("time", {}, lane=Lane.PRIORITY)
        server = payload.get("serverTime") if isinstance(payload, Mapping) else None
        if not isinstance(server, int) or isinstance(server, bool):
            raise EngineError("GET /fapi/v1/time answered without an integer serverTime")
        return server

    def _new_requester(self) -> Requester:
        return Requester(
            limiter=self._limiter,
            limiter_channel=self._limiter_root.clone(),
            pool_channel=self._pool_root.clone(),
            request_timeout_s=self.config.request_timeout_s,
            retry=self.config.retry,
            rng=random.Random(self._rng.random()),
            resync_clock=self._clock_sync.resync,
        )

    # -- life cycle ---------------------------------------------------------------------

    async def _start(self) -> None:
        await self._nursery.start(self._limiter.run)
        await self._nursery.start(self._pool.run)
        await self._nursery.start(self._clock_sync.run)
        if not self._clock_sync.statistics().synced:
            raise EngineError("could not read the exchange's clock (GET /fapi/v1/time)")
        if self._deadman is not None:
            await self._nursery.start(self._deadman.run)
        await self.exchange_info(refresh=True)
        if self.config.credentials is not None:
            payload = await self._call("position_mode", {}, lane=Lane.QUERY)
            if isinstance(payload, Mapping):
                self._dual_side = payload.get("dualSidePosition") is True

    async def _drain(self) -> None:
        self._closed = True
        for actor in self._actors.values():
            await actor.sender().aclose()
        for done in self._actors_done:
            await done.wait()
        if self._deadman is not None:
            # A clean stop: orders left open stay open (a crash or a hang leaves
            # the countdowns armed, and the exchange cancels).
            await self._deadman.disarm_all()

    @property
    def session(self) -> str:
        """The tag that prefixes this run's client order ids."""
        return self._session

    async def sync_clock(self) -> int:
        """Measure the server clock offset now (median of round-trip midpoints).

        The clock-sync actor also does this periodically and after -1021.

        Returns:
            The offset in milliseconds that signed timestamps now carry.
        """
        await self._clock_sync.resync()
        return self._clock_sync.offset_ms()

    # -- plumbing -------------------------------------------------------------------------

    async def _call(
        self,
        name: str,
        params: Mapping[str, str],
        *,
        lane: Lane = Lane.QUERY,
        strategy: str = _ENGINE,
    ) -> object:
        """One REST call through the limiter and the pool; the JSON body or an error.

        Raises:
            EngineError: The typed failure (refusal, exchange error, transport).
        """
        if self._closed:
            raise EngineClosed()
        return await self._request(name, params, lane=lane, strategy=strategy)

    async def _request(
        self, name: str, params: Mapping[str, str], *, lane: Lane, strategy: str = _ENGINE
    ) -> object:
        outcome = await self._requester.request(
            endpoint(name),
            params,
            strategy=strategy,
            lane=lane,
            deadline=trio.current_time() + self.config.order_deadline_s,
        )
        if isinstance(outcome, RestSucceeded):
            return outcome.payload
        raise outcome.error

    async def _send_countdown(self, symbol: Symbol, countdown_ms: int) -> None:
        # Not through ``_call``: the disarm at shutdown runs after ``_closed`` is set.
        await self._request(
            "countdown_cancel_all",
            {"symbol": symbol.value, "countdownTime": str(countdown_ms)},
            lane=Lane.PRIORITY,
        )

    async def _actor(self, symbol: Symbol) -> SymbolOrderActor:
        actor = self._actors.get(symbol)
        if actor is not None:
            return actor
        async with self._actor_lock:
            actor = self._actors.get(symbol)
            if actor is None:
                actor = SymbolOrderActor(
                    symbol=symbol,
                    rules=self.rules(symbol),
                    requester=self._new_requester(),
                    publish=self._bus.publish,
                    config=self._actor_config,
                    on_live=self._deadman.set_live if self._deadman is not None else None,
                )
                done = trio.Event()

                async def run_actor(
                    actor: SymbolOrderActor = actor,
                    done: trio.Event = done,
                    *,
                    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
                ) -> None:
                    try:
                        await actor.run(task_status=task_status)
                    finally:
                        done.set()

                await self._nursery.start(run_actor)
                self._actors[symbol] = actor
                self._actors_done.append(done)
            return actor

    async def _ask(self, symbol: Symbol, cmd: OrderCommand) -> None:
        if self._closed:
            raise EngineClosed()
        actor = await self._actor(symbol)
        with trio.move_on_at(cmd.deadline) as scope:
            await actor.sender().send(cmd)
        if scope.cancelled_caught:
            raise Overloaded(queue=f"{symbol} order actor inbox")

    @staticmethod
    def _unwrap(reply: OrderReply) -> OrderSnapshot:
        if isinstance(reply, OrderFailed):
            raise reply.error
        return reply.order

    # -- market data and metadata --------------------------------------------------------

    def rules(self, symbol: Symbol | str) -> SymbolRules:
        """The cached filters of ``symbol``.

        Raises:
            UnknownSymbol: Not listed (wrong case counts), or not loaded yet.
        """
        if self._info is None:
            raise UnknownSymbol(symbol=str(symbol), reason="exchangeInfo not loaded")
        return self._info.rules(symbol)

    async def exchange_info(self, *, refresh: bool = False) -> ExchangeInfo:
        """Symbol rules and rate limits (cached; ``refresh`` re-fetches)."""
        if self._info is None or refresh:
            payload = await self._call("exchange_info", {})
            if not isinstance(payload, Mapping):
                raise EngineError("exchangeInfo is not an object")
            self._info = ExchangeInfo.from_wire(payload)
            await self._limiter.set_rate_limits(
                scale_rate_limits(self._info.rate_limits, self.config.rate_limit_fraction)
            )
        return self._info

    async def server_time(self) -> int:
        """The exchange's clock, epoch milliseconds."""
        payload = await self._call("time", {})
        assert isinstance(payload, Mapping)
        value = payload.get("serverTime")
        if not isinstance(value, int):
            raise EngineError("serverTime missing")
        return value

    async def health_check(self) -> HealthStatus:
        """Ping the exchange and read its clock; never raises."""
        start = trio.current_time()
        try:
            await self._call("ping", {}, lane=Lane.PRIORITY)
            server = await self.server_time()
        except EngineError as exc:
            return HealthStatus(
                ok=False,
                latency_s=trio.current_time() - start,
                server_time_ms=None,
                clock_offset_ms=self._clock_sync.offset_ms(),
                error=str(exc),
            )
        return HealthStatus(
            ok=True,
            latency_s=trio.current_time() - start,
            server_time_ms=server,
            clock_offset_ms=self._clock_sync.offset_ms(),
        )

    async def klines(
        self,
        symbol: Symbol | str,
        interval: str = "1m",
        *,
        limit: int = 100,
        start_time: int | None = None,
        end_time: int | None = None,
    ) -> list[Kline]:
        """Candlesticks, oldest first."""
        params = {"symbol": str(symbol), "interval": interval, "limit": str(limit)}
        if start_time is not None:
            params["startTime"] = str(start_time)
        if end_time is not None:
            params["endTime"] = str(end_time)
        payload = await self._call("klines", params)
        return [Kline.from_wire(row) for row in payload] if isinstance(payload, list) else []

    async def ticker_price(self, symbol: Symbol | str) -> PriceTicker:
        """The last price."""
        return PriceTicker.from_wire(await self._call("ticker_price", {"symbol": str(symbol)}))

    async def book_ticker(self, symbol: Symbol | str) -> BookTicker:
        """Best bid and ask."""
        return BookTicker.from_wire(await self._call("book_ticker", {"symbol": str(symbol)}))

    async def order_book(self, symbol: Symbol | str, *, limit: int = 20) -> OrderBook:
        """A depth snapshot (weight grows with ``limit``)."""
        return OrderBook.from_wire(
            await self._call("depth", {"symbol": str(symbol), "limit": str(limit)})
        )

    # -- account -------------------------------------------------------------------------

    async def positions(self, symbol: Symbol | str | None = None) -> list[Position]:
        """Position rows (``GET /fapi/v3/positionRisk``)."""
        params = {"symbol": str(symbol)} if symbol is not None else {}
        payload = await self._call("position_risk", params)
        return [Position.from_wire(row) for row in payload] if isinstance(payload, list) else []

    async def balances(self) -> list[Balance]:
        """Asset balances (``GET /fapi/v3/balance``)."""
        payload = await self._call("balance", {})
        return [Balance.from_wire(row) for row in payload] if isinstance(payload, list) else []

    async def account(self) -> AccountInfo:
        """Totals, assets and positions (``GET /fapi/v3/account``)."""
        return AccountInfo.from_wire(await self._call("account", {}))

    async def change_leverage(self, symbol: Symbol | str, leverage: int) -> int:
        """Set the initial leverage; returns what the exchange set.

        Raises:
            InvalidCombination: ``leverage`` outside 1..125, before any I/O.
        """
        if isinstance(leverage, bool) or not isinstance(leverage, int) or not 1 <= leverage <= 125:
            raise InvalidCombination(reason=f"leverage {leverage!r} must be an int in 1..125")
        self.rules(symbol)
        payload = await self._call(
            "change_leverage", {"symbol": str(symbol), "leverage": str(leverage)}, lane=Lane.ORDER
        )
        value = payload.get("leverage") if isinstance(payload, Mapping) else None
        return int(str(value)) if value is not None else leverage

    async def change_margin_type(self, symbol: Symbol | str, margin_type: MarginType | str) -> None:
        """Set ISOLATED or CROSSED; "already set" (-4046) counts as success."""
        kind = MarginType(margin_type)
        self.rules(symbol)
        try:
            await self._call(
                "change_margin_type",
                {"symbol": str(symbol), "marginType": kind.value},
                lane=Lane.ORDER,
            )
        except EngineError as exc:
            if getattr(exc, "code", None) != -4046:
                raise

    async def open_orders(self, symbol: Symbol | str | None = None) -> list[VenueOrder]:
        """Open orders as the exchange lists them (weight 40 without a symbol)."""
        params = {"symbol": str(symbol)} if symbol is not None else {}
        payload = await self._call("open_orders", params)
        return [VenueOrder.from_wire(row) for row in payload] if isinstance(payload, list) else []

    async def user_trades(self, symbol: Symbol | str, *, limit: int = 500) -> list[AccountTrade]:
        """The account's recent fills on ``symbol``, with fees and realized PnL."""
        payload = await self._call("user_trades", {"symbol": str(symbol), "limit": str(limit)})
        return [AccountTrade.from_wire(r) for r in payload] if isinstance(payload, list) else []

    async def all_orders(self, symbol: Symbol | str, *, limit: int = 500) -> list[VenueOrder]:
        """Recent orders of a symbol, any status."""
        payload = await self._call("all_orders", {"symbol": str(symbol), "limit": str(limit)})
        return [VenueOrder.from_wire(row) for row in payload] if isinstance(payload, list) else []

    # -- orders ---------------------------------------------------------------------------

    def validate(self, request: OrderRequest) -> SymbolRules:
        """Every local check, with zero I/O.

        Raises:
            InvalidOrder: Unknown symbol, a filter violation, or a position side
                that does not fit the account's position mode.
        """
        rules = self.rules(request.symbol)
        rules.validate(request)
        if self._dual_side is True and request.position_side is PositionSide.BOTH:
            raise InvalidCombination(
                reason="the account is in hedge mode: positionSide LONG or SHORT"
            )
        if self._dual_side is False and request.position_side is not PositionSide.BOTH:
            raise InvalidCombination(
                reason="the account is in one-way mode: positionSide must be BOTH"
            )
        return rules

    async def place_order(
        self, request: OrderRequest, *, strategy: str = "default"
    ) -> OrderSnapshot:
        """Validate, then place; returns the order once its placement is settled.

        The placement continues if the caller is cancelled: the symbol actor owns
        it, and its events still reach subscribers.

        Raises:
            InvalidOrder: Refused locally; nothing was sent.
            Refused: Overloaded, deadline passed in the queue, or closed.
            ExchangeError: The exchange refused it.
            OutcomeUnknown: Still unresolved after the resolution bound.
        """
        self.validate(request)
        slot: OneShot[OrderReply] = OneShot()
        cmd = PlaceOrder(
            strategy=strategy,
            request=request,
            deadline=trio.current_time() + self.config.order_deadline_s,
            reply_to=slot,
        )
        await self._ask(request.symbol, cmd)
        return self._unwrap(await slot.wait())

    async def _by_id(
        self,
        kind: type[CancelOrder] | type[QueryOrder],
        symbol: Symbol | str,
        client_order_id: ClientOrderId | str,
        strategy: str,
    ) -> OrderSnapshot:
        sym = Symbol(symbol) if isinstance(symbol, str) else symbol
        cid = (
            ClientOrderId(client_order_id) if isinstance(client_order_id, str) else client_order_id
        )
        slot: OneShot[OrderReply] = OneShot()
        cmd = kind(
            strategy=strategy,
            client_order_id=cid,
            deadline=trio.current_time() + self.config.order_deadline_s,
            reply_to=slot,
        )
        await self._ask(sym, cmd)
        return self._unwrap(await slot.wait())

    async def cancel_order(
        self,
        symbol: Symbol | str,
        client_order_id: ClientOrderId | str,
        *,
        strategy: str = "default",
    ) -> OrderSnapshot:
        """Cancel one of ``strategy``'s orders; returns its final known state.

        A cancel that loses a race with a fill returns the FILLED order.
        """
        return await self._by_id(CancelOrder, symbol, client_order_id, strategy)

    async def query_order(
        self,
        symbol: Symbol | str,
        client_order_id: ClientOrderId | str,
        *,
        strategy: str = "default",
    ) -> OrderSnapshot:
        """Ask the exchange for the order's state and apply it."""
        return await self._by_id(QueryOrder, symbol, client_order_id, strategy)

    async def cancel_all_orders(
        self, symbol: Symbol | str, *, strategy: str = "default"
    ) -> tuple[OrderSnapshot, ...]:
        """Cancel ``strategy``'s open orders on ``symbol``; other strategies' stay."""
        sym = Symbol(symbol) if isinstance(symbol, str) else symbol
        self.rules(sym)
        slot: OneShot[CancelAllDone | OrderFailed] = OneShot()
        cmd = CancelAllOrders(
            strategy=strategy,
            deadline=trio.current_time() + self.config.order_deadline_s,
            reply_to=slot,
        )
        await self._ask(sym, cmd)
        reply = await slot.wait()
        if isinstance(reply, OrderFailed):
            raise reply.error
        return reply.orders

    def orders(self, *, strategy: str | None = None) -> list[OrderSnapshot]:
        """Every order this executor placed (optionally one strategy's)."""
        return [
            record.snapshot()
            for actor in self._actors.values()
            for record in actor.orders()
            if strategy is None or record.strategy == strategy
        ]

    def strategy(self, name: str) -> StrategyHandle:
        """A handle that places and cancels as ``name``."""
        return StrategyHandle(self, name)

    @property
    def rate_limiter(self) -> RateLimiter:
        """The limiter, for ``get_status()``, ``reset()``, ``wait_for_capacity()``."""
        return self._limiter

    async def set_strategy_share(self, name: str, share: float) -> None:
        """Give strategy ``name`` this weight in the limiter's fair queues."""
        await self._limiter.set_share(name, share)

    @asynccontextmanager
    async def subscribe(
        self, buffer: int = 1024
    ) -> AsyncIterator[trio.MemoryReceiveChannel[OrderEvent]]:
        """Receive order events on a bounded channel for the duration of the block."""
        async with self._bus.subscribe(buffer) as channel:
            yield channel

    def statistics(self) -> ExecutorStatistics:
        """Every actor's statistics."""
        return ExecutorStatistics(
            limiter=self._limiter.statistics(),
            rest=self._pool.statistics(),
            symbols=tuple(a.statistics() for a in self._actors.values()),
            clock_offset_ms=self._clock_sync.offset_ms(),
            clock=self._clock_sync.statistics(),
            deadman=self._deadman.statistics() if self._deadman is not None else None,
            events_dropped=self._bus.dropped,
        )


class StrategyHandle:
    """The executor as one strategy sees it: its orders only."""

    def __init__(self, executor: Executor, name: str) -> None:
        self.executor = executor
        self.name = name

    async def place(self, request: OrderRequest) -> OrderSnapshot:
        """See :meth:`Executor.place_order`."""
        return await self.executor.place_order(request, strategy=self.name)

    async def cancel(
        self, symbol: Symbol | str, client_order_id: ClientOrderId | str
    ) -> OrderSnapshot:
        """See :meth:`Executor.cancel_order`."""
        return await self.executor.cancel_order(symbol, client_order_id, strategy=self.name)

    async def query(
        self, symbol: Symbol | str, client_order_id: ClientOrderId | str
    ) -> OrderSnapshot:
        """See :meth:`Executor.query_order`."""
        return await self.executor.query_order(symbol, client_order_id, strategy=self.name)

    async def cancel_all(self, symbol: Symbol | str) -> tuple[OrderSnapshot, ...]:
        """See :meth:`Executor.cancel_all_orders`."""
        return await self.executor.cancel_all_orders(symbol, strategy=self.name)

    def orders(self) -> list[OrderSnapshot]:
        """This strategy's orders."""
        return self.executor.orders(strategy=self.name)


@asynccontextmanager
async def open_executor(
    config: ExecutorConfig, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Executor]:
    """Start the engine; stop it cleanly on exit.

    Args:
        config: Where and how to trade.
        transport: An httpx transport to use instead of the network, e.g. the
            in-process simulated exchange's (``open_sim().transport``).

    Raises:
        EngineError: Start-up failed (the exchange is unreachable, bad keys).
    """
    try:
        async with trio.open_nursery() as nursery:
            executor = Executor(config, nursery, transport)
            try:
                await executor._start()
                yield executor
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(config.drain_s):
                    await executor._drain()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        # The nursery is an implementation detail: a single failure surfaces as
        # itself (an EngineError, or the caller's own exception), not as a group.
        single = _single(group)
        if single is None:
            raise
        raise single from None


def _single(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    if len(group.exceptions) != 1:
        return None
    inner = group.exceptions[0]
    return _single(inner) if isinstance(inner, BaseExceptionGroup) else inner
