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

import logging
import random
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from decimal import Decimal

import attrs
import httpx
import trio

from trio_fapi._time import AnchoredClock
from trio_fapi.config import ExecutorConfig
from trio_fapi.protocol.endpoints import endpoint
from trio_fapi.protocol.enums import MarginType, OrderStatus, OrderType, PositionSide
from trio_fapi.protocol.errors import (
    EngineClosed,
    EngineError,
    ExchangeError,
    InvalidCombination,
    InvalidOrder,
    Overloaded,
    TradingHalted,
    UnknownSymbol,
)
from trio_fapi.protocol.filters import (
    DEFAULT_RATE_LIMITS,
    ExchangeInfo,
    SymbolRules,
    scale_rate_limits,
)
from trio_fapi.protocol.ids import ClientOrderId, Symbol
from trio_fapi.protocol.journal_records import IntentKind, IntentState, JournaledIntent
from trio_fapi.protocol.messages import (
    BatchDone,
    CancelAllDone,
    CancelAllOrders,
    CancelBatch,
    CancelOrder,
    ExecutorEvent,
    Lane,
    ModifyOrder,
    OrderCommand,
    OrderFailed,
    OrderReply,
    OrderSnapshot,
    PlaceBatch,
    PlaceOrder,
    QueryOrder,
    RestSucceeded,
)
from trio_fapi.protocol.numbers import to_decimal
from trio_fapi.protocol.orders import OrderRequest
from trio_fapi.protocol.stream_schedule import ListenKeyPolicy, StalenessWatchdog
from trio_fapi.protocol.stream_transport import StreamConnector
from trio_fapi.protocol.trades import AccountTrade
from trio_fapi.protocol.user_events import AlgoUpdate, OrderTradeUpdate
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
from .halt import AccountHalt
from .journal import Journal, open_journal
from .limiter import LimiterStatistics, RateLimiter
from .mark_prices import MarkPrices
from .order_ids import IdAllocator, sequence_base
from .order_record import OrderRecord
from .reply import OneShot
from .requester import Requester
from .rest_pool import RestPoolStatistics, RestWorkerPool
from .symbol_actor import OrderActorConfig, Resync, SymbolOrderActor, SymbolStatistics
from .user_stream import StreamStatistics, UserStream, stream_url_for
from .websocket import WebSocketConnector

__all__ = ["Executor", "ExecutorStatistics", "HealthStatus", "StrategyHandle", "open_executor"]

log = logging.getLogger("trio_fapi.executor")

_ENGINE = "_engine"
#: Refusals that say the cached symbol table may be stale (faults.md rows 24, 31).
_STALE_FILTER_CODES = frozenset({-1111, -1121})
#: At most one refresh of exchangeInfo per this many seconds after such a refusal.
_REFRESH_DEBOUNCE_S = 5.0
_PLACEMENTS = (IntentKind.PLACE, IntentKind.ALGO_PLACE)


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
    halted: str | None = None
    stream: StreamStatistics | None = None


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
        journal: Journal | None = None,
        stream_connector: StreamConnector | None = None,
    ) -> None:
        self.config = config
        self._nursery = nursery
        self._journal = journal
        self._halt = AccountHalt()
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
        # Without a journal, sequences start at the start time so a restart under
        # the same session never rebuilds an id of an earlier run (row 49).
        self._sequence_base = sequence_base(self._clock()) if journal is None else 0
        self._marks = MarkPrices(
            lambda params: self._call("premium_index", params),
            max_age_s=config.mark_price_max_age_s,
        )
        self._refused_refresh_at = -float("inf")
        self._actor_config = OrderActorConfig(
            session=self._session,
            recv_window_ms=config.recv_window_ms,
            request_timeout_s=config.request_timeout_s,
            max_in_flight=config.max_in_flight_per_symbol,
            poll_interval_s=config.poll_interval_s,
            stream_poll_interval_s=config.stream_poll_interval_s,
            query_lag_s=config.query_lag_s,
            unknown_resolution_s=config.unknown_resolution_s,
        )
        self._stream = self._new_stream(transport, stream_connector)
        self._stream_scope = trio.CancelScope()
        self._stream_done = trio.Event()
        self._stream_started = False

    def _new_stream(
        self,
        transport: httpx.AsyncBaseTransport | None,
        connector: StreamConnector | None,
    ) -> UserStream | None:
        """The stream actor, when it can run: keys, a URL, and a way to connect."""
        config = self.config
        url = config.stream_url or stream_url_for(config.base_url)
        if not config.user_stream or config.credentials is None or url is None:
            return None
        if connector is None:
            if transport is not None:
                return None  # an in-process transport and no stream connector: REST only
            connector = WebSocketConnector()

        async def call(name: str, params: Mapping[str, str]) -> object:
            return await self._request(name, params, lane=Lane.PRIORITY)

        return UserStream(
            call=call,
            connector=connector,
            stream_url=url,
            route=self._route,
            resync=self._resync_all,
            publish=self._bus.publish,
            set_connected=self._set_stream_up,
            rng=random.Random(self._rng.random()),
            policy=ListenKeyPolicy(keepalive_interval_s=config.listen_key_keepalive_s),
            watchdog=StalenessWatchdog(
                ping_interval_s=config.stream_ping_interval_s,
                pong_timeout_s=config.stream_pong_timeout_s,
            ),
        )

    async def _route(self, event: OrderTradeUpdate | AlgoUpdate) -> bool:
        """Hand an order event to its symbol's actor (blocking when it is behind)."""
        actor = self._actors.get(event.order.symbol)
        if actor is None:
            return False  # no order of ours on that symbol: external
        try:
            await actor.stream_sender().send(event)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return True

    async def _resync_all(self) -> int:
        """Reconcile every symbol actor's orders; the fills that turned up."""
        found = 0

        async def one(actor: SymbolOrderActor) -> None:
            nonlocal found
            slot: OneShot[int] = OneShot()
            await actor.stream_sender().send(Resync(reply_to=slot))
            found += await slot.wait()

        async with trio.open_nursery() as nursery:
            for actor in list(self._actors.values()):
                nursery.start_soon(one, actor)
        return found

    def _set_stream_up(self, up: bool) -> None:
        for actor in self._actors.values():
            actor.stream_up = up

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
            halt=self._halt,
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
        self._nursery.start_soon(self._refresh_filters_loop)
        try:
            await self._marks.load_all()
        except EngineError as exc:  # the band check then fetches per symbol
            log.warning("mark prices not loaded at start: %s", exc)
        if self.config.credentials is not None:
            payload = await self._call("position_mode", {}, lane=Lane.QUERY)
            if isinstance(payload, Mapping):
                self._dual_side = payload.get("dualSidePosition") is True
        if self._journal is not None:
            await self._recover_intents(await self._journal.non_terminal())
        if self._stream is not None:
            await self._nursery.start(self._run_stream)
            with trio.move_on_after(self.config.request_timeout_s):
                await self._stream.wait_resynced()  # else: polling until it is up

    async def _run_stream(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        assert self._stream is not None
        self._stream_started = True
        try:
            with self._stream_scope:
                await self._stream.run(task_status=task_status)
        finally:
            self._stream_done.set()

    async def _recover_intents(self, intents: Iterable[JournaledIntent]) -> None:
        """Reconcile every unsettled journaled placement before strategies run (row 49).

        Each is queried by client order id and adopted as it stands on the
        exchange; one that never landed is proven absent after its window.
        Nothing journaled is ever sent again. An unsettled modification settles
        with its order: at once if the order's placement is already settled.
        """
        assert self._journal is not None
        records: dict[Symbol, list[OrderRecord]] = {}
        by_id: dict[ClientOrderId, OrderRecord] = {}
        modifies: list[JournaledIntent] = []
        for intent in intents:
            if intent.intent.kind not in _PLACEMENTS:
                modifies.append(intent)
                continue
            try:
                request = OrderRequest.from_params(dict(intent.intent.params))
            except InvalidOrder as exc:
                log.error("journaled intent %d cannot be read back: %s", intent.intent_id, exc)
                continue
            record = OrderRecord(
                strategy=intent.intent.strategy,
                request=request,
                client_order_id=intent.intent.client_order_id,
                intent_id=intent.intent_id,
                venue_order_id=intent.venue_order_id,
            )
            if intent.state is IntentState.ACKNOWLEDGED:
                record.status = OrderStatus.NEW
            records.setdefault(request.symbol, []).append(record)
            by_id[record.client_order_id] = record
        for modify in modifies:
            owner = by_id.get(modify.intent.client_order_id)
            if owner is not None:
                owner.open_modifies.append(modify.intent_id)
            else:
                await self._journal.record_outcome(
                    modify.intent_id, IntentState.TERMINAL, detail="its order was settled"
                )
        for symbol, adopted in records.items():
            await self._actor(symbol, adopt=adopted)
        bound = self.config.unknown_resolution_s + self.config.order_deadline_s
        with trio.move_on_after(bound):
            for adopted in records.values():
                for record in adopted:
                    await record.settled.wait()

    async def _refresh_filters_loop(self) -> None:
        while True:
            await trio.sleep(self.config.exchange_info_refresh_s)
            try:
                await self.exchange_info(refresh=True)
            except EngineError as exc:
                log.warning("periodic exchangeInfo refresh failed: %s", exc)

    def _after_refusal(self, error: EngineError) -> None:
        """A refusal that says the filters may be stale reloads them, in the background."""
        if not isinstance(error, ExchangeError) or error.code not in _STALE_FILTER_CODES:
            return
        if trio.current_time() < self._refused_refresh_at + _REFRESH_DEBOUNCE_S:
            return
        self._refused_refresh_at = trio.current_time()  # one refresh at a time

        async def refresh() -> None:
            try:
                await self.exchange_info(refresh=True)
            except EngineError as exc:
                log.warning("exchangeInfo refresh after %s failed: %s", error.code, exc)

        self._nursery.start_soon(refresh)

    async def _drain(self) -> None:
        self._closed = True
        if self._stream is not None:
            # Stopped first, and waited for: its clean-up closes the listen key
            # through the REST pool, which must still be running.
            self._stream_scope.cancel()
            if self._stream_started:
                await self._stream_done.wait()
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

    def server_now_ms(self) -> int:
        """The exchange's clock as this engine estimates it (no I/O).

        Rate-limit windows and signed timestamps use this clock.
        """
        return self._server_ms()

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

    async def _actor(
        self, symbol: Symbol, *, adopt: Iterable[OrderRecord] = ()
    ) -> SymbolOrderActor:
        actor = self._actors.get(symbol)
        if actor is not None:
            return actor
        async with self._actor_lock:
            actor = self._actors.get(symbol)
            if actor is None:
                self.rules(symbol)  # an unknown symbol gets no actor: UnknownSymbol
                actor = SymbolOrderActor(
                    symbol=symbol,
                    requester=self._new_requester(),
                    publish=self._bus.publish,
                    config=self._actor_config,
                    ids=IdAllocator(
                        session=self._session,
                        symbol=symbol,
                        journal=self._journal,
                        base=self._sequence_base,
                    ),
                    journal=self._journal,
                    on_live=self._deadman.set_live if self._deadman is not None else None,
                )
                actor.stream_up = self._stream is not None and self._stream.connected
                for record in adopt:
                    actor.adopt(record)
                done = trio.Event()
                # Registered before it starts: a crash right after start replaces
                # the entry with the successor, which must not be overwritten.
                self._actors[symbol] = actor
                self._actors_done.append(done)
                await self._nursery.start(self._supervise, actor, done)
            return actor

    async def _supervise(
        self,
        actor: SymbolOrderActor,
        done: trio.Event,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run a symbol actor; restart it from its records when it crashes (row 46).

        A crash cancels the actor's jobs, which answer their callers UNKNOWN;
        the successor keeps the inbox and the records, and reconciles every
        order that was not settled. Other symbols never notice. Past
        ``max_actor_restarts`` the crash propagates and stops the executor.
        """
        status: trio.TaskStatus[None] = task_status
        try:
            while True:
                try:
                    await actor.run(task_status=status)
                    return
                except Exception:
                    if self._closed or actor.restarts >= self.config.max_actor_restarts:
                        raise
                    log.exception(
                        "%s order actor crashed; restarting (%d)", actor.symbol, actor.restarts + 1
                    )
                status = trio.TASK_STATUS_IGNORED
                actor = actor.successor(self._new_requester())
                self._actors[actor.symbol] = actor
        finally:
            done.set()

    async def _ask(self, symbol: Symbol, cmd: OrderCommand) -> None:
        if self._closed:
            raise EngineClosed()
        halted = self._halt.error
        if halted is not None:
            raise halted
        actor = await self._actor(symbol)
        with trio.move_on_at(cmd.deadline) as scope:
            await actor.sender().send(cmd)
        if scope.cancelled_caught:
            raise Overloaded(queue=f"{symbol} order actor inbox")

    def _unwrap(self, reply: OrderReply) -> OrderSnapshot:
        if isinstance(reply, OrderFailed):
            self._after_refusal(reply.error)
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

    def validate(self, request: OrderRequest, *, mark_price: Decimal | None = None) -> SymbolRules:
        """Every local check, with zero I/O.

        Args:
            request: The order.
            mark_price: The mark price, for the PERCENT_PRICE band (``place_order``
                passes a fresh one); without it the band is left to the exchange.

        Raises:
            InvalidOrder: Unknown symbol, a filter violation, or a position side
                that does not fit the account's position mode.
        """
        rules = self.rules(request.symbol)
        rules.validate(request, mark_price=mark_price)
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
        await self._validate_with_mark(request)
        slot: OneShot[OrderReply] = OneShot()
        cmd = PlaceOrder(
            strategy=strategy,
            request=request,
            deadline=trio.current_time() + self.config.order_deadline_s,
            reply_to=slot,
        )
        await self._ask(request.symbol, cmd)
        return self._unwrap(await slot.wait())

    async def _validate_with_mark(self, request: OrderRequest) -> None:
        """Local checks; the PERCENT_PRICE band too when a fresh mark can be had.

        The checks that need nothing are run first, so a bad request is refused
        before the one I/O this may need (a stale mark is fetched, weight 1).
        """
        rules = self.validate(request)
        if rules.percent_price is None or request.price is None:
            return
        mark = await self._marks.get(request.symbol)
        if mark is not None:
            self.validate(request, mark_price=mark)

    async def place_orders(
        self, requests: Iterable[OrderRequest], *, strategy: str = "default"
    ) -> list[OrderSnapshot | EngineError]:
        """Place several orders with batch calls; one result per request, in order.

        Requests are grouped by symbol and sent 5 per ``POST /fapi/v1/batchOrders``.
        Each item succeeds or fails on its own: a refused item is its error, an
        item whose outcome is unknown is resolved by evidence like any placement.
        A request refused locally is its :class:`InvalidOrder` and is not sent.
        Conditional (algo) orders cannot be batched on Binance: they are refused
        here with :class:`InvalidCombination`.
        """
        items = list(requests)
        results: list[OrderSnapshot | EngineError | None] = [None] * len(items)
        by_symbol: dict[Symbol, list[int]] = {}
        for index, request in enumerate(items):
            try:
                if request.is_algo:
                    raise InvalidCombination(
                        reason=f"{request.order_type} orders cannot be batched (algo service)"
                    )
                await self._validate_with_mark(request)
            except InvalidOrder as exc:
                results[index] = exc
                continue
            by_symbol.setdefault(request.symbol, []).append(index)

        async def one_symbol(symbol: Symbol, indexes: list[int]) -> None:
            slot: OneShot[BatchDone] = OneShot()
            cmd = PlaceBatch(
                strategy=strategy,
                requests=tuple(items[i] for i in indexes),
                deadline=trio.current_time() + self.config.order_deadline_s,
                reply_to=slot,
            )
            try:
                await self._ask(symbol, cmd)
            except EngineError as exc:
                for i in indexes:
                    results[i] = exc
                return
            done = await slot.wait()
            for i, reply in zip(indexes, done.results, strict=True):
                results[i] = self._result(reply)

        async with trio.open_nursery() as nursery:
            for symbol, indexes in by_symbol.items():
                nursery.start_soon(one_symbol, symbol, indexes)
        assert all(r is not None for r in results)  # each one a refusal or a batch answer
        return [r for r in results if r is not None]

    async def cancel_orders(
        self,
        symbol: Symbol | str,
        client_order_ids: Iterable[ClientOrderId | str],
        *,
        strategy: str = "default",
    ) -> list[OrderSnapshot | EngineError]:
        """Cancel several of ``strategy``'s orders, 10 per ``DELETE /fapi/v1/batchOrders``.

        One result per id, in order: the order's final known state (a cancel
        that lost a race with a fill returns the FILLED order), or the error.
        """
        sym = Symbol(symbol) if isinstance(symbol, str) else symbol
        self.rules(sym)
        ids = tuple(ClientOrderId(c) if isinstance(c, str) else c for c in client_order_ids)
        if not ids:
            return []
        slot: OneShot[BatchDone] = OneShot()
        cmd = CancelBatch(
            strategy=strategy,
            client_order_ids=ids,
            deadline=trio.current_time() + self.config.order_deadline_s,
            reply_to=slot,
        )
        await self._ask(sym, cmd)
        done = await slot.wait()
        return [self._result(reply) for reply in done.results]

    def _result(self, reply: OrderReply) -> OrderSnapshot | EngineError:
        try:
            return self._unwrap(reply)
        except EngineError as exc:
            return exc

    async def modify_order(
        self,
        symbol: Symbol | str,
        client_order_id: ClientOrderId | str,
        *,
        quantity: Decimal | str | int,
        price: Decimal | str | int,
        strategy: str = "default",
    ) -> OrderSnapshot:
        """Change an open LIMIT order's price and total quantity (``PUT /fapi/v1/order``).

        The order keeps its ids and its fills; ``quantity`` is the new total,
        executed part included. If a fill wins the race, the answer is the
        filled order (no error, no double count).

        Raises:
            InvalidOrder: Not a LIMIT order, or the new terms break a filter; nothing sent.
            NotFound: The strategy has no such order.
            ExchangeError: The exchange refused the modification; the order is unchanged.
            OutcomeUnknown: Whether the modification applied is not known yet.
        """
        sym = Symbol(symbol) if isinstance(symbol, str) else symbol
        cid = (
            ClientOrderId(client_order_id) if isinstance(client_order_id, str) else client_order_id
        )
        qty = to_decimal(quantity, field="quantity")
        new_price = to_decimal(price, field="price")
        actor = self._actors.get(sym)
        record = actor.order(cid) if actor is not None else None
        if record is not None and record.strategy == strategy:
            if record.request.order_type is not OrderType.LIMIT:
                raise InvalidCombination(
                    reason=f"only LIMIT orders can be modified, not {record.request.order_type}"
                )
            await self._validate_with_mark(
                attrs.evolve(record.request, quantity=qty, price=new_price)
            )
        slot: OneShot[OrderReply] = OneShot()
        cmd = ModifyOrder(
            strategy=strategy,
            client_order_id=cid,
            quantity=qty,
            price=new_price,
            deadline=trio.current_time() + self.config.order_deadline_s,
            reply_to=slot,
        )
        await self._ask(sym, cmd)
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
    def journal(self) -> Journal | None:
        """The intent journal (``ExecutorConfig.journal_path``), or ``None``."""
        return self._journal

    @property
    def halted(self) -> TradingHalted | None:
        """Why keyed requests are halted (the key was refused), or ``None``."""
        return self._halt.error

    def resume_trading(self) -> None:
        """Lift a halt after the API key, its permissions or its IP list were fixed."""
        self._halt.resume()

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
    ) -> AsyncIterator[trio.MemoryReceiveChannel[ExecutorEvent]]:
        """Receive events on a bounded channel for the duration of the block.

        Order events, stream events (:class:`StreamGap`, :class:`StreamResynced`,
        account changes) and, when this subscriber fell behind,
        :class:`EventsDropped` with the count it missed.
        """
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
            halted=str(self._halt.error) if self._halt.error is not None else None,
            stream=self._stream.statistics() if self._stream is not None else None,
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

    async def modify(
        self,
        symbol: Symbol | str,
        client_order_id: ClientOrderId | str,
        *,
        quantity: Decimal | str | int,
        price: Decimal | str | int,
    ) -> OrderSnapshot:
        """See :meth:`Executor.modify_order`."""
        return await self.executor.modify_order(
            symbol, client_order_id, quantity=quantity, price=price, strategy=self.name
        )

    async def place_many(
        self, requests: Iterable[OrderRequest]
    ) -> list[OrderSnapshot | EngineError]:
        """See :meth:`Executor.place_orders`."""
        return await self.executor.place_orders(requests, strategy=self.name)

    async def cancel_many(
        self, symbol: Symbol | str, client_order_ids: Iterable[ClientOrderId | str]
    ) -> list[OrderSnapshot | EngineError]:
        """See :meth:`Executor.cancel_orders`."""
        return await self.executor.cancel_orders(symbol, client_order_ids, strategy=self.name)

    def orders(self) -> list[OrderSnapshot]:
        """This strategy's orders."""
        return self.executor.orders(strategy=self.name)


@asynccontextmanager
async def open_executor(
    config: ExecutorConfig,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    stream_connector: StreamConnector | None = None,
) -> AsyncIterator[Executor]:
    """Start the engine; stop it cleanly on exit.

    Args:
        config: Where and how to trade.
        transport: An httpx transport to use instead of the network, e.g. the
            in-process simulated exchange's (``open_sim().transport``).
        stream_connector: Opens user-data stream connections instead of
            trio-websocket, e.g. ``open_sim().stream_connector``. With a
            ``transport`` and no connector the stream is off (REST polling only).

    Raises:
        EngineError: Start-up failed (the exchange is unreachable, bad keys).
    """
    try:
        async with AsyncExitStack() as stack:
            journal: Journal | None = None
            if config.journal_path is not None:
                # Opened first, closed last: actors note outcomes while they drain.
                journal = await stack.enter_async_context(
                    open_journal(config.journal_path, synchronous=config.journal_synchronous)
                )
            async with trio.open_nursery() as nursery:
                executor = Executor(config, nursery, transport, journal, stream_connector)
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
