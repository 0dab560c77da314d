"""Money is conserved exactly over random paper-trading sessions.

Whatever happens (fills, refusals, cancels, partial fills, funding, price
moves, latency), the wallet moves by exactly the realized PnL, minus the
commissions, plus the funding, and the fill callbacks saw every fill once.
"""

from __future__ import annotations

from decimal import Decimal

import trio
import trio.testing
from hypothesis import example, given, settings
from hypothesis import strategies as st

from trio_fapi.paper import PaperBroker, PaperFill, PaperOrder
from trio_fapi.protocol.errors import EngineError

from .conftest import T0

D = Decimal
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
STEP = {"BTCUSDT": D("0.001"), "ETHUSDT": D("0.01"), "SOLUSDT": D(1)}
#: A session that fills, partially fills, flips, reduces, pays funding and cancels.
BUSY = [
    ("market", "BTCUSDT", True, 300),
    ("limit", "BTCUSDT", False, 200, 5, "GTC"),
    ("quote", "BTCUSDT", 1, 3),
    ("funding", "BTCUSDT", 7),
    ("market", "ETHUSDT", False, 150),
    ("limit", "ETHUSDT", True, 100, -3, "GTC"),
    ("quote", "ETHUSDT", -2, 0),
    ("reduce", "BTCUSDT", 50),
    ("limit", "SOLUSDT", True, 40, 0, "IOC"),
    ("market", "BTCUSDT", False, 250),
    ("limit", "BTCUSDT", True, 5, -10, "GTC"),
    ("cancel", 0),
    ("wait", 1500),
    ("funding", "ETHUSDT", -4),
]

action = st.one_of(
    st.tuples(st.just("quote"), st.sampled_from(SYMBOLS), st.integers(-40, 40), st.integers(0, 5)),
    st.tuples(st.just("market"), st.sampled_from(SYMBOLS), st.booleans(), st.integers(2, 300)),
    st.tuples(
        st.just("limit"),
        st.sampled_from(SYMBOLS),
        st.booleans(),
        st.integers(2, 300),
        st.integers(-20, 20),
        st.sampled_from(["GTC", "IOC", "FOK", "GTX"]),
    ),
    st.tuples(st.just("reduce"), st.sampled_from(SYMBOLS), st.integers(1, 300)),
    st.tuples(st.just("cancel"), st.integers(0, 5)),
    st.tuples(st.just("funding"), st.sampled_from(SYMBOLS), st.integers(-30, 30)),
    st.tuples(st.just("wait"), st.integers(1, 5000)),
)


async def session(broker: PaperBroker, actions: list[tuple[object, ...]]) -> D:
    """Run ``actions``; return the funding the wallet received."""
    funding = D(0)
    for act in actions:
        kind = act[0]
        try:
            if kind == "quote":
                _, sym, move, size = act
                market = broker.get_market_data(str(sym))
                tick = broker.exchange.market.symbols[str(sym)].tick
                bid = market.bid * (1 + D(int(str(move))) / 1000)
                bid = max(tick, (bid / tick).to_integral_value() * tick)
                bid_qty = None if int(str(size)) == 0 else STEP[str(sym)] * int(str(size))
                broker.update_market_data(str(sym), bid, bid + tick, bid, "1", bid_qty=bid_qty)
            elif kind == "market":
                _, sym, buy, n = act
                qty = STEP[str(sym)] * int(str(n))
                await broker.place_order(str(sym), "BUY" if buy else "SELL", "MARKET", qty)
            elif kind == "limit":
                _, sym, buy, n, offset, tif = act
                data = broker.get_market_data(str(sym))
                tick = broker.exchange.market.symbols[str(sym)].tick
                price = data.last + tick * int(str(offset))
                qty = STEP[str(sym)] * int(str(n))
                side = "BUY" if buy else "SELL"
                await broker.place_order(str(sym), side, "LIMIT", qty, price, str(tif))
            elif kind == "reduce":
                _, sym, n = act
                amount = broker.get_position(str(sym)).amount
                if amount:
                    cut = min(abs(amount), STEP[str(sym)] * int(str(n)))
                    side = "SELL" if amount > 0 else "BUY"
                    await broker.place_order(str(sym), side, "MARKET", cut, reduce_only=True)
            elif kind == "cancel":
                open_orders = await broker.get_open_orders()
                if open_orders:
                    victim = open_orders[int(str(act[1])) % len(open_orders)]
                    await broker.cancel_order(victim.symbol, victim.order_id)
            elif kind == "funding":
                _, sym, bps = act
                funding += broker.settle_funding(str(sym), D(int(str(bps))) / 10000)
            else:
                await trio.sleep(int(str(act[1])) / 1000)
        except EngineError:
            pass  # refusals change nothing; the invariants must still hold
    await broker.flush_callbacks()
    return funding


@settings(max_examples=80, deadline=None)
@example(seed=0, latency=(1, 30), actions=BUSY)
@given(
    seed=st.integers(0, 3),
    latency=st.sampled_from([(0, 0), (1, 30)]),
    actions=st.lists(action, min_size=5, max_size=40),
)
def test_cash_moves_by_realized_minus_fees_plus_funding(
    seed: int, latency: tuple[int, int], actions: list[tuple[object, ...]]
) -> None:
    fills: list[PaperFill] = []
    changes: list[PaperOrder] = []

    async def main() -> None:
        broker = PaperBroker({"USDT": "50000"}, seed=seed, epoch_ms=T0)
        broker.set_latency_simulation(*latency)
        broker.register_fill_callback(fills.append)
        broker.register_order_callback(changes.append)
        funding = await session(broker, actions)

        account = await broker.get_account_info()
        realized = sum((f.realized_pnl for f in fills), D(0))
        fees = sum((f.commission for f in fills), D(0))
        assert account.wallet_balance == broker.initial_balance + realized - fees + funding
        assert (account.realized_pnl, account.commission, account.funding) == (
            realized,
            fees,
            funding,
        )
        per_symbol = [broker.calculate_pnl(s) for s in SYMBOLS]
        assert sum((p.realized for p in per_symbol), D(0)) == realized
        assert sum((p.commission for p in per_symbol), D(0)) == fees
        assert sum((p.funding for p in per_symbol), D(0)) == funding
        assert sum((p.unrealized for p in per_symbol), D(0)) == account.unrealized_pnl
        assert account.available_balance == (
            account.margin_balance
            - account.position_initial_margin
            - account.open_order_initial_margin
        )
        for symbol in SYMBOLS:
            signed = sum(
                (f.quantity if f.side.value == "BUY" else -f.quantity)
                for f in fills
                if f.symbol == symbol
            )
            assert broker.get_position(symbol).amount == signed
        # Callbacks: every execution once, every order change once, in order.
        ledger = broker.exchange.ledger
        assert [f.trade_id for f in fills] == [e.trade_id for e in ledger.executions]
        assert [(c.order_id, c.status.value) for c in changes] == [
            (u.o["i"], u.o["X"]) for u in ledger.order_updates
        ]
        if actions == BUSY:
            assert len(fills) >= 5
            assert funding != 0

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
