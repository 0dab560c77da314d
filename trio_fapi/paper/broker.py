"""The paper broker: trade against real or replayed market data, with no money at risk.

:class:`PaperBroker` is a thin front end over the simulated exchange's core
(its market, ledger, matching and account), not a second exchange. Market
data pushed into the broker moves the simulated market's book; orders go
through the same checks, matching, margin and PnL arithmetic as on the
simulated exchange; and :attr:`PaperBroker.transport` lets the executor trade
on the very same ledger, so a strategy runs unchanged on either side.

What is simulated, and how:

- **Fills.** A MARKET order (and a marketable LIMIT) takes liquidity at the
  taker rate, priced by the slippage model (by default a walk of the book,
  level by level); what the book cannot hold is not filled. A LIMIT order that
  does not cross rests, and fills at its own price, at the maker rate, when
  later market data crosses it, as far as the crossing depth goes.
- **Time in force.** IOC fills what it can and expires the rest; FOK fills
  completely or is refused (-5021); GTX (post-only) is refused if it would
  take (-5022); GTD expires at its time.
- **Margin.** USD-M cross margin: initial margin is ``notional / leverage``.
  An open order reserves margin at its limit price until it fills or is
  canceled; an order the available balance cannot carry is refused with
  -2019. Reduce-only orders that would not reduce are refused with -2022.
- **Positions.** One-way (``BOTH``) or hedge mode (``LONG``/``SHORT``);
  reducing fills realize ``closed * (price - entry) * direction``; unrealized
  PnL is measured at the last price, which serves as the mark price.
- **Latency.** Order entry and every venue call wait a seeded, simulated round
  trip on trio's clock; the venue acts halfway through.

Refusals raise the engine's own errors: :class:`~trio_fapi.protocol.errors.InvalidOrder`
for bad input (before any simulated I/O, floats included), and
:class:`~trio_fapi.protocol.errors.ExchangeRejected` carrying Binance's code for
what the venue refuses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TypeVar, assert_never

import trio

from trio_fapi._time import AnchoredClock
from trio_fapi.config import ExecutorConfig
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.protocol.enums import (
    ALGO_ORDER_TYPES,
    OrderSide,
    OrderType,
    PositionSide,
    ResponseType,
    TimeInForce,
)
from trio_fapi.protocol.errors import InvalidCombination, UnknownSymbol
from trio_fapi.protocol.ids import Symbol
from trio_fapi.protocol.numbers import to_decimal
from trio_fapi.protocol.orders import OrderRequest, to_enum
from trio_fapi.sim.api import SimRequest, SimResponse, SimulatedExchange
from trio_fapi.sim.commands import NewOrder, OrderRef
from trio_fapi.sim.config import SimConfig
from trio_fapi.sim.errors import SimError
from trio_fapi.sim.ledger import Ledger
from trio_fapi.sim.market import SymbolMarket
from trio_fapi.sim.records import FundingSettled, LedgerEvent, OrderChanged

from .account import PaperAccount, PaperPosition, PnL, account_snapshot, position_snapshot
from .callbacks import CallbackHub, FillCallback, OrderCallback
from .config import MAX_LEVERAGE, ExchangeInfoInput, int_in, paper_setup
from .errors import InvalidMarketData, InvalidSetting, rejected
from .fees import FeeConfig
from .latency import LatencyModel
from .market_data import MarketData, OrderBook, OrderBookLevel, non_negative
from .orders import PaperFill, PaperOrder
from .slippage import BookWalkSlippageModel, SlippageEstimate, SlippageModel
from .transport import PAPER_BASE_URL, PaperTransport

__all__ = ["PaperBroker"]

_ZERO = Decimal(0)
_STEP_SLACK_S = 0.001
_MAX_HISTORY = 1000
_ORDER_PATH = "/fapi/v1/order"
_T = TypeVar("_T")


class PaperBroker:
    """A paper-trading venue on the simulated exchange's core.

    Args:
        initial_balances: The one margin asset and its starting balance, e.g.
            ``{"USDT": "10000"}`` (USD-M single-asset mode). Decimal, int or
            fixed-point string; a float is refused.
        exchange_info: The symbols to trade: ``None`` for BTCUSDT, ETHUSDT and
            SOLUSDT with live-like filters; Binance's ``exchangeInfo`` (the JSON
            or an :class:`~trio_fapi.protocol.filters.ExchangeInfo`); a sequence
            of :class:`~trio_fapi.sim.config.SymbolSpec`; or a whole
            :class:`~trio_fapi.sim.config.SimConfig`.
        fee_config: Commission rates: a :class:`FeeConfig`, a
            ``{"maker": .., "taker": ..}`` mapping, or ``None`` for 2 / 5 bps.
        slippage_model: Prices taker orders; the default walks the book.
        seed: Seeds generated ids, synthetic depth, the random walk and latency.
        leverage: The starting leverage of every symbol.
        hedge_mode: Start in hedge mode (``LONG``/``SHORT`` positions).
        start_prices: Starting prices for symbols from ``exchangeInfo``; a
            symbol without one refuses orders (-1112) until its first data.
        epoch_ms: The venue's clock at the first moment it is used inside
            trio; ``None`` uses the wall clock. Give one for reproducible times.

    Raises:
        InvalidSetting: Not exactly one balance, leverage out of 1..125, or an
            unknown fee key or symbol.
        InvalidNumber: A float or otherwise inexact number.
    """

    def __init__(
        self,
        initial_balances: Mapping[str, object],
        exchange_info: ExchangeInfoInput = None,
        fee_config: FeeConfig | Mapping[str, object] | None = None,
        *,
        slippage_model: SlippageModel | None = None,
        seed: int = 0,
        leverage: int = 20,
        hedge_mode: bool = False,
        start_prices: Mapping[str, object] | None = None,
        epoch_ms: int | None = None,
    ) -> None:
        setup = paper_setup(
            initial_balances,
            exchange_info,
            fee_config,
            seed=seed,
            leverage=leverage,
            start_prices=start_prices,
        )
        self._config = setup.config
        self._epoch_ms = epoch_ms
        start_ms = epoch_ms if epoch_ms is not None else int(time.time() * 1000)
        self._exchange = SimulatedExchange(setup.config, start_ms=start_ms)
        for symbol in setup.awaiting_data:
            self._exchange.market.symbols[symbol].has_data = False
        self._slippage: SlippageModel = slippage_model or BookWalkSlippageModel()
        ledger = self._exchange.ledger
        ledger.take_planner = self._slippage
        ledger.account.dual_side = bool(hedge_mode)
        self._latency = LatencyModel(seed=seed)
        self._hub = CallbackHub()
        self._clock: AnchoredClock | None = None
        self._transport: PaperTransport | None = None
        self._anchor()

    def __repr__(self) -> str:
        account = self._exchange.ledger.account
        return (
            f"PaperBroker(symbols={[s.symbol for s in self._config.symbols]}, "
            f"wallet={account.wallet} {account.asset}, slippage={self._slippage!r})"
        )

    # -- the venue underneath -----------------------------------------------------

    @property
    def config(self) -> SimConfig:
        """The simulated exchange's configuration (symbols, fees, leverage, seed)."""
        return self._config

    @property
    def exchange(self) -> SimulatedExchange:
        """The simulated exchange underneath, for assertions (read it, do not drive it)."""
        return self._exchange

    @property
    def initial_balance(self) -> Decimal:
        """The starting wallet balance."""
        return self._config.initial_balance

    @property
    def slippage_model(self) -> SlippageModel:
        """The model pricing taker orders."""
        return self._slippage

    @property
    def transport(self) -> PaperTransport:
        """An httpx transport into this venue: ``open_executor(config, transport=...)``."""
        if self._transport is None:
            self._transport = PaperTransport(self._serve)
        return self._transport

    def executor_config(self, **overrides: object) -> ExecutorConfig:
        """An :class:`~trio_fapi.config.ExecutorConfig` for trading on this venue.

        Args:
            overrides: Any other :class:`ExecutorConfig` field (``poll_interval_s``, ...).
        """
        fields: dict[str, object] = {
            "base_url": PAPER_BASE_URL,
            "credentials": Credentials(
                api_key=self._config.api_key, api_secret=self._config.api_secret
            ),
            "seed": self._config.seed,
        }
        fields.update(overrides)
        return ExecutorConfig(**fields)  # type: ignore[arg-type]

    def now_ms(self) -> int:
        """The venue's clock (epoch milliseconds), advancing with trio's clock."""
        clock = self._anchor()
        return clock() if clock is not None else self._exchange.now_ms

    def _anchor(self) -> AnchoredClock | None:
        """Start the venue clock at the first moment the broker is used inside trio."""
        if self._clock is None:
            try:
                trio.current_time()
            except RuntimeError:
                return None  # outside trio: time stands still until the first run
            epoch = self._exchange.now_ms if self._epoch_ms is not None else None
            self._clock = AnchoredClock(epoch)
        return self._clock

    def _ledger_now(self) -> tuple[Ledger, int]:
        """Bring the venue up to now (market steps, timers) and return its ledger."""
        self._exchange.advance(self.now_ms())
        return self._exchange.ledger, self._exchange.now_ms

    async def _call(self, act: Callable[[Ledger, int], _T]) -> _T:
        """One venue call: the way out, ``act`` on the ledger brought up to now, the way back."""
        self._anchor()
        return await self._latency.round_trip(lambda: act(*self._ledger_now()))

    async def _order_call(self, act: Callable[[Ledger, int], _T]) -> _T:
        """A :meth:`_call` that changes orders.

        A refusal raises :class:`~trio_fapi.protocol.errors.ExchangeRejected`; the
        callbacks for what the call caused have run when it returns.
        """

        def refusing(ledger: Ledger, now: int) -> _T:
            try:
                return act(ledger, now)
            except SimError as exc:
                raise rejected(exc, _ORDER_PATH) from None

        result = await self._call(refusing)
        await self._hub.deliver()
        return result

    def _market(self, symbol: str) -> SymbolMarket:
        """The symbol's market.

        Raises:
            UnknownSymbol: Not listed (a malformed name says why).
        """
        market = self._exchange.market.get(Symbol(symbol).value)
        if market is None:
            raise UnknownSymbol(symbol=symbol)
        return market

    # -- market data --------------------------------------------------------------

    def update_market_data(
        self,
        symbol: str,
        bid: object,
        ask: object,
        last_price: object,
        volume: object = _ZERO,
        *,
        bid_qty: object = None,
        ask_qty: object = None,
    ) -> None:
        """Push a quote: the book's touch moves to ``bid`` / ``ask``, the price to ``last_price``.

        Resting orders the new quote crosses fill at once (as makers), and
        synchronous callbacks run before this returns. Behind the touch the
        book keeps synthetic depth; ``bid_qty`` / ``ask_qty`` set the size at
        the touch when the data has it. Prices off the tick grid are snapped
        outwards (bid down, ask up).

        Raises:
            UnknownSymbol: The symbol is not listed.
            InvalidNumber: A float, or a non-positive price.
            InvalidMarketData: ``ask`` not above ``bid``.
        """
        market = self._market(symbol)
        data = MarketData(
            symbol=symbol,
            bid=bid,
            ask=ask,
            last=last_price,
            volume=volume,
            bid_qty=bid_qty,
            ask_qty=ask_qty,
        )
        self._push(
            lambda now: market.set_quote(
                data.bid,
                data.ask,
                data.last,
                now,
                bid_qty=data.bid_qty,
                ask_qty=data.ask_qty,
                volume=data.volume,
            )
        )

    def update_price(self, symbol: str, last_price: object, volume: object = None) -> None:
        """Push a last price alone (klines, trades): the synthetic book recentres on it.

        Raises:
            UnknownSymbol: The symbol is not listed.
            InvalidNumber: A float, or a non-positive price.
        """
        market = self._market(symbol)
        price = to_decimal(last_price, field="last_price")
        traded = None if volume is None else non_negative(volume, field="volume")
        self._push(lambda now: market.set_price(price, now, volume=traded))

    def update_order_book(
        self,
        symbol: str,
        bids: Iterable[OrderBookLevel | tuple[object, object]],
        asks: Iterable[OrderBookLevel | tuple[object, object]],
    ) -> None:
        """Push a whole book (kept until the next push); the price becomes the best bid.

        Raises:
            UnknownSymbol: The symbol is not listed.
            InvalidNumber: A float, a non-positive price or a negative size.
            InvalidMarketData: The book is crossed or empty.
        """
        market = self._market(symbol)

        def levels(rows: Iterable[OrderBookLevel | tuple[object, object]]) -> list[OrderBookLevel]:
            return [
                row
                if isinstance(row, OrderBookLevel)
                else OrderBookLevel(price=row[0], quantity=row[1])
                for row in rows
            ]

        book = OrderBook(symbol=symbol, bids=levels(bids), asks=levels(asks))
        best_bid, best_ask = book.get_best_bid(), book.get_best_ask()
        if best_bid is None and best_ask is None:
            raise InvalidMarketData(symbol=symbol, reason="the book is empty")
        if best_bid is not None and best_ask is not None and best_ask.price <= best_bid.price:
            raise InvalidMarketData(symbol=symbol, reason="the book is crossed")
        self._push(
            lambda now: market.set_book(
                [(lv.price, lv.quantity) for lv in book.bids],
                [(lv.price, lv.quantity) for lv in book.asks],
                now,
            )
        )

    def _push(self, change: Callable[[int], None]) -> None:
        """Apply a market change at the venue's now, let everything react, run sync callbacks."""
        self._exchange.push(change, self.now_ms())
        self._hub.deliver_sync()

    def set_volatility(self, symbol: str, volatility: object) -> None:
        """Set the random walk's relative move per second for ``symbol`` (``0`` stops it).

        Raises:
            UnknownSymbol: The symbol is not listed.
            InvalidNumber: A float or a negative value.
        """
        self._market(symbol).volatility = non_negative(volatility, field="volatility")

    def advance(self) -> None:
        """Run the venue up to now: market steps, timers, resting fills; sync callbacks."""
        self._exchange.advance(self.now_ms())
        self._hub.deliver_sync()

    async def next_step(self) -> None:
        """Sleep until the market's next step is due, take it, and deliver callbacks.

        A random-walk feed is this in a loop; a paper market steps every
        second of trio time (its synthetic depth refills, the walk moves).
        """
        due_ms = self._exchange.market.next_step_ms
        await trio.sleep(max(0.0, (due_ms - self.now_ms()) / 1000) + _STEP_SLACK_S)
        self.advance()
        await self._hub.deliver()

    def get_market_data(self, symbol: str) -> MarketData:
        """The current quote: best bid and ask (with sizes), last price, reported volume.

        Raises:
            UnknownSymbol: The symbol is not listed.
        """
        market = self._market(symbol)
        book = market.book()
        return MarketData(
            symbol=symbol,
            bid=market.best_bid,
            ask=market.best_ask,
            last=market.price,
            volume=market.volume,
            time=self.now_ms(),
            bid_qty=book.bids[0].qty if book.bids else None,
            ask_qty=book.asks[0].qty if book.asks else None,
        )

    def get_order_book(self, symbol: str, depth: int | None = 20) -> OrderBook:
        """The book now (after what orders took this step), ``depth`` levels a side.

        Args:
            symbol: The symbol.
            depth: Levels per side; ``None`` for all of them.

        Raises:
            UnknownSymbol: The symbol is not listed.
        """
        book = self._market(symbol).book()
        return OrderBook(
            symbol=symbol,
            bids=[OrderBookLevel(price=lv.price, quantity=lv.qty) for lv in book.bids[:depth]],
            asks=[OrderBookLevel(price=lv.price, quantity=lv.qty) for lv in book.asks[:depth]],
            update_id=book.update_id,
            time=self.now_ms(),
        )

    # -- orders -------------------------------------------------------------------

    async def place_order(
        self,
        symbol: str,
        side: OrderSide | str,
        order_type: OrderType | str,
        quantity: object,
        price: object = None,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        *,
        reduce_only: bool = False,
        position_side: PositionSide | str | None = None,
        client_order_id: str | None = None,
        good_till_date: int | None = None,
    ) -> PaperOrder:
        """Place a LIMIT or MARKET order; return it as the venue left it.

        The order is checked before anything is simulated (shape, then the
        symbol's filters). It then reaches the venue after half the simulated
        round trip, is matched at once, and the answer arrives after the other
        half. When this returns, the callbacks for what it caused have run.

        Args:
            symbol: e.g. ``"BTCUSDT"``.
            side: ``"BUY"`` or ``"SELL"``.
            order_type: ``"LIMIT"`` or ``"MARKET"``.
            quantity: Base-asset quantity (Decimal, int or string; not float).
            price: The limit price (LIMIT only).
            time_in_force: GTC, IOC, FOK, GTX or GTD (ignored for MARKET).
            reduce_only: Only reduce the position (one-way mode).
            position_side: ``LONG`` or ``SHORT`` in hedge mode.
            client_order_id: Your id for the order; one is generated if omitted.
            good_till_date: Expiry (epoch ms) for GTD.

        Raises:
            InvalidOrder: Bad input, an unknown symbol or a filter violation.
            ExchangeRejected: The venue refused it; ``code`` says why (-2019
                margin, -2022 reduce-only, -5021 FOK, -5022 post-only, ...).
        """
        kind = to_enum(OrderType, order_type, field="type")
        if kind in ALGO_ORDER_TYPES:
            raise InvalidCombination(
                reason=f"{kind} is a conditional order: trade it through the executor on "
                "this broker's transport"
            )
        request = OrderRequest(
            symbol=symbol,
            side=side,
            order_type=kind,
            quantity=quantity,
            price=price,
            time_in_force=time_in_force if kind is OrderType.LIMIT else None,
            reduce_only=reduce_only,
            position_side=PositionSide.BOTH if position_side is None else position_side,
            client_order_id=client_order_id,
            good_till_date=good_till_date,
        )
        market = self._market(request.symbol.value)
        market.spec.rules.validate(request, mark_price=market.price if market.has_data else None)
        assert request.quantity is not None
        cmd = NewOrder(
            symbol=request.symbol.value,
            side=request.side,
            order_type=request.order_type,
            quantity=request.quantity,
            price=request.price,
            time_in_force=request.time_in_force,
            position_side=(
                None if request.position_side is PositionSide.BOTH else request.position_side
            ),
            reduce_only=request.reduce_only,
            client_order_id=(
                request.client_order_id.value if request.client_order_id is not None else None
            ),
            response_type=ResponseType.RESULT,
            good_till_date=request.good_till_date,
        )

        def place(ledger: Ledger, now: int) -> PaperOrder:
            order = ledger.accept(cmd, now)
            ledger.execute(order, now)
            return PaperOrder.from_sim(order)

        return await self._order_call(place)

    async def cancel_order(self, symbol: str, order_id: int | str) -> PaperOrder:
        """Cancel an open order by its venue id (int) or client order id (str).

        Raises:
            UnknownSymbol: The symbol is not listed.
            ExchangeRejected: -2011 when the order is unknown or already done.
        """
        self._market(symbol)
        if isinstance(order_id, bool) or not isinstance(order_id, int | str):
            raise InvalidCombination(reason=f"order_id must be an int or a str, got {order_id!r}")
        ref = (
            OrderRef(symbol=symbol, order_id=order_id)
            if isinstance(order_id, int)
            else OrderRef(symbol=symbol, client_order_id=order_id)
        )
        return await self._order_call(
            lambda ledger, now: PaperOrder.from_sim(ledger.cancel(ref, now))
        )

    async def cancel_all_orders(self, symbol: str) -> list[PaperOrder]:
        """Cancel every open order of ``symbol``; return them as canceled.

        Raises:
            UnknownSymbol: The symbol is not listed.
        """
        self._market(symbol)
        return await self._order_call(
            lambda ledger, now: [PaperOrder.from_sim(o) for o in ledger.cancel_all(symbol, now)]
        )

    async def get_open_orders(self, symbol: str | None = None) -> list[PaperOrder]:
        """Open orders, of one symbol or all, oldest first.

        Raises:
            UnknownSymbol: The symbol is not listed.
        """
        if symbol is not None:
            self._market(symbol)
        return await self._call(
            lambda ledger, _: [PaperOrder.from_sim(o) for o in ledger.all_open_orders(symbol)]
        )

    async def get_order_history(self, symbol: str, limit: int = 100) -> list[PaperOrder]:
        """The ``limit`` most recent orders of ``symbol`` (open and done), oldest first.

        Raises:
            UnknownSymbol: The symbol is not listed.
            InvalidSetting: ``limit`` outside 1..1000.
        """
        self._market(symbol)
        _check_limit(limit)

        def read(ledger: Ledger, _: int) -> list[PaperOrder]:
            recent = list(ledger.orders[symbol].values())[-limit:]
            return [PaperOrder.from_sim(o) for o in recent]

        return await self._call(read)

    async def get_fills(self, symbol: str, limit: int = 500) -> list[PaperFill]:
        """The ``limit`` most recent fills of ``symbol``, oldest first.

        Raises:
            UnknownSymbol: The symbol is not listed.
            InvalidSetting: ``limit`` outside 1..1000.
        """
        self._market(symbol)
        _check_limit(limit)

        def read(ledger: Ledger, _: int) -> list[PaperFill]:
            recent = [e for e in ledger.executions if e.symbol == symbol][-limit:]
            return [PaperFill.from_execution(e) for e in recent]

        return await self._call(read)

    # -- callbacks ----------------------------------------------------------------

    def register_fill_callback(self, callback: FillCallback) -> None:
        """Call ``callback(fill)`` once for every fill from now on (sync or ``async def``)."""
        self._hub.on_fill(callback)
        self._listen()

    def register_order_callback(self, callback: OrderCallback) -> None:
        """Call ``callback(order)`` once for every order change from now on.

        A change is an acceptance, each fill, an amendment, a cancel or an
        expiry; ``order`` is the snapshot just after it.
        """
        self._hub.on_order(callback)
        self._listen()

    async def flush_callbacks(self) -> None:
        """Run every callback on what it has not been given yet."""
        await self._hub.deliver()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Deliver callbacks as events happen, until cancelled.

        Start it in a nursery (``open_paper_venue`` does) so that fills caused
        by market data or by the executor reach async callbacks at once, rather
        than at the next ``place_order`` / ``cancel_order`` / ``flush_callbacks``.
        """
        await self._hub.run(task_status=task_status)

    def _listen(self) -> None:
        """Feed the hub from the ledger once there is a callback (no snapshots before)."""
        observers = self._exchange.ledger.observers
        if self._on_ledger_event not in observers:
            observers.append(self._on_ledger_event)

    def _on_ledger_event(self, event: LedgerEvent) -> None:
        match event:
            case OrderChanged(order=order, fill=fill):
                if fill is not None:
                    self._hub.publish(PaperFill.from_execution(fill))
                self._hub.publish(PaperOrder.from_sim(order))
            case FundingSettled():
                pass  # shows in the wallet, the positions and calculate_pnl
            case _:
                assert_never(event)

    # -- account ------------------------------------------------------------------

    async def get_account_info(self) -> PaperAccount:
        """Balances, margin (reserved by orders and held by positions), PnL, positions."""
        maint = {s.symbol: s.maint_margin_rate for s in self._config.symbols}
        return await self._call(
            lambda ledger, _: account_snapshot(
                ledger.account, ledger.open_orders_iter(), ledger.marks(), maint
            )
        )

    def get_position(
        self, symbol: str, position_side: PositionSide | str | None = None
    ) -> PaperPosition:
        """The position in ``symbol`` now (flat positions read as zero).

        Args:
            symbol: The symbol.
            position_side: ``LONG`` or ``SHORT``, required in hedge mode.

        Raises:
            UnknownSymbol: The symbol is not listed.
            InvalidCombination: Hedge mode without a position side, or a
                side the current mode does not use.
        """
        market = self._market(symbol)
        account = self._exchange.ledger.account
        if position_side is None:
            if account.dual_side:
                raise InvalidCombination(reason="hedge mode: name the position side, LONG or SHORT")
            side = PositionSide.BOTH
        else:
            side = to_enum(PositionSide, position_side, field="positionSide")
        if side not in account.position_sides():
            mode = "hedge" if account.dual_side else "one-way"
            raise InvalidCombination(reason=f"{side} positions do not exist in {mode} mode")
        return position_snapshot(account, account.position(symbol, side), market.price)

    def get_positions(self) -> list[PaperPosition]:
        """Every open (non-flat) position."""
        account = self._exchange.ledger.account
        marks = self._exchange.ledger.marks()
        return [
            position_snapshot(account, p, marks[p.symbol])
            for p in account.positions.values()
            if p.amount != 0
        ]

    def calculate_pnl(self, symbol: str) -> PnL:
        """Realized and unrealized PnL of ``symbol`` (both sides in hedge mode), fees, funding.

        Raises:
            UnknownSymbol: The symbol is not listed.
        """
        mark = self._market(symbol).price
        positions = [
            p for p in self._exchange.ledger.account.positions.values() if p.symbol == symbol
        ]
        return PnL(
            symbol=symbol,
            realized=sum((p.realized for p in positions), _ZERO),
            unrealized=sum((p.unrealized(mark) for p in positions), _ZERO),
            commission=sum((p.commission for p in positions), _ZERO),
            funding=sum((p.funding for p in positions), _ZERO),
        )

    def settle_funding(self, symbol: str, rate: object) -> Decimal:
        """Apply one funding payment at ``rate`` (positive: longs pay) to ``symbol``'s positions.

        Returns:
            What the wallet gained (negative when it paid).

        Raises:
            UnknownSymbol: The symbol is not listed.
            InvalidNumber: A float rate.
        """
        self._market(symbol)
        funding_rate = to_decimal(rate, field="rate", positive=False)
        ledger, now = self._ledger_now()
        return ledger.settle_funding(symbol, funding_rate, now)

    def set_leverage(self, symbol: str, leverage: int) -> None:
        """Change ``symbol``'s leverage (1..125); margin is recomputed from now on.

        Raises:
            UnknownSymbol: The symbol is not listed.
            ExchangeRejected: -4028 for a leverage outside 1..125.
        """
        self._market(symbol)
        if not int_in(leverage, 1, MAX_LEVERAGE):
            raise rejected(SimError.of(-4028, leverage), "/fapi/v1/leverage")
        self._exchange.ledger.account.leverage[symbol] = leverage

    def set_hedge_mode(self, enabled: bool) -> None:
        """Switch between one-way and hedge mode (only with no orders and no positions).

        Raises:
            ExchangeRejected: -4067 with open orders, -4068 with open positions.
        """
        ledger = self._exchange.ledger
        if bool(enabled) is ledger.account.dual_side:
            return
        if ledger.all_open_orders():
            raise rejected(SimError.of(-4067), "/fapi/v1/positionSide/dual")
        if ledger.account.has_positions():
            raise rejected(SimError.of(-4068), "/fapi/v1/positionSide/dual")
        ledger.account.dual_side = bool(enabled)

    # -- simulation settings ------------------------------------------------------

    def set_latency_simulation(self, min_ms: int, max_ms: int) -> None:
        """Simulate a round trip of ``min_ms`` to ``max_ms`` milliseconds on every venue call.

        Raises:
            InvalidSetting: Not whole non-negative milliseconds, or min above max.
        """
        self._latency.set(min_ms, max_ms)

    def simulate_slippage(
        self,
        order: PaperOrder | OrderRequest,
        market_data: MarketData | OrderBook | None = None,
    ) -> SlippageEstimate:
        """What ``order`` would fill at as a taker, without trading.

        Args:
            order: The order to price (its side, quantity and, for LIMIT, price).
            market_data: What to price it against: a quote (sizes it does not
                give count as deep enough for the order), a book, or ``None``
                for this venue's book now.

        Raises:
            UnknownSymbol: The order's symbol is not listed.
        """
        symbol = order.symbol.value if isinstance(order, OrderRequest) else order.symbol
        market = self._market(symbol)
        quantity = order.quantity
        if quantity is None:
            raise InvalidCombination(reason="the order has no quantity to price")
        if market_data is None:
            book = self.get_order_book(symbol, depth=None)
        elif isinstance(market_data, MarketData):
            book = OrderBook.from_market_data(market_data, default_qty=quantity)
        else:
            book = market_data
        limit = order.price if order.order_type is OrderType.LIMIT else None
        return self._slippage.estimate(book, order.side, quantity, limit=limit, tick=market.tick)

    # -- the transport's side -----------------------------------------------------

    async def _serve(self, request: SimRequest) -> SimResponse:
        """Answer one HTTP request from the executor, after the simulated latency."""
        # No callback runs here: this is the executor's task. The dispatcher
        # (or the next delivery point) gives the events to the callbacks.
        # ``handle`` brings the venue up to now itself.
        self._anchor()
        return await self._latency.round_trip(lambda: self._exchange.handle(request, self.now_ms()))


def _check_limit(limit: int) -> None:
    if not int_in(limit, 1, _MAX_HISTORY):
        raise InvalidSetting(name="limit", reason=f"must be an int in 1..{_MAX_HISTORY}")
