"""Properties over random trading sessions: money and quantities are conserved."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trio_fapi.protocol.enums import OrderSide, PositionSide
from trio_fapi.sim import SimError, SimulatedExchange, default_config

from .conftest import T0, place

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
QTY = {"BTCUSDT": "0.001", "ETHUSDT": "0.01", "SOLUSDT": "1"}

action = st.one_of(
    st.tuples(
        st.just("market"),
        st.sampled_from(SYMBOLS),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(2, 400),
    ),
    st.tuples(
        st.just("limit"),
        st.sampled_from(SYMBOLS),
        st.sampled_from(["BUY", "SELL"]),
        st.integers(2, 400),
        st.integers(-30, 30),  # ticks from the price, in tenths of a percent
        st.sampled_from(["GTC", "IOC", "GTX"]),
    ),
    st.tuples(st.just("reduce"), st.sampled_from(SYMBOLS), st.integers(1, 400)),
    st.tuples(st.just("move"), st.sampled_from(SYMBOLS), st.integers(-40, 40)),
    st.tuples(st.just("wait"), st.integers(1, 3000)),
)


def _run(seed: int, actions: list[tuple[object, ...]]) -> SimulatedExchange:
    ex = SimulatedExchange(default_config(seed), start_ms=T0)
    now = T0
    for act in actions:
        kind = act[0]
        try:
            if kind == "market":
                _, sym, side, n = act
                place(ex, str(side), str(Decimal(QTY[str(sym)]) * int(str(n))), symbol=str(sym))
            elif kind == "limit":
                _, sym, side, n, offset, tif = act
                market = ex.ledger.symbol_market(str(sym))
                raw = market.price * (1 + Decimal(int(str(offset))) / 1000)
                price = raw.quantize(market.tick)
                qty = str(Decimal(QTY[str(sym)]) * int(str(n)))
                place(ex, str(side), qty, str(price), symbol=str(sym), tif=str(tif))
            elif kind == "reduce":
                _, sym, n = act
                pos = ex.ledger.account.position(str(sym), PositionSide.BOTH)
                if pos.amount:
                    cut = min(abs(pos.amount), Decimal(QTY[str(sym)]) * int(str(n)))
                    side = "SELL" if pos.amount > 0 else "BUY"
                    place(ex, side, str(cut), symbol=str(sym), reduce_only=True)
            elif kind == "move":
                _, sym, offset = act
                market = ex.ledger.symbol_market(str(sym))
                target = market.price * (1 + Decimal(int(str(offset))) / 1000)
                ex.set_price(str(sym), target.quantize(market.tick), now)
            else:
                now += int(str(act[1]))
                ex.advance(now)
        except SimError:
            pass  # refusals change nothing; the invariants below must still hold
    return ex


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 5), actions=st.lists(action, min_size=5, max_size=40))
def test_wallet_changes_by_realized_pnl_minus_fees(
    seed: int, actions: list[tuple[object, ...]]
) -> None:
    ex = _run(seed, actions)
    executions = ex.ledger.executions
    realized = sum((e.realized_pnl for e in executions), Decimal(0))
    fees = sum((e.commission for e in executions), Decimal(0))
    assert ex.ledger.account.wallet - ex.config.initial_balance == realized - fees


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 5), actions=st.lists(action, min_size=5, max_size=40))
def test_positions_and_orders_add_up(seed: int, actions: list[tuple[object, ...]]) -> None:
    ex = _run(seed, actions)
    net: dict[str, Decimal] = defaultdict(Decimal)
    per_order: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for e in ex.ledger.executions:
        net[e.symbol] += e.qty if e.side is OrderSide.BUY else -e.qty
        per_order[(e.symbol, e.order_id)] += e.qty
        assert e.qty > 0
    for sym in SYMBOLS:
        assert ex.ledger.account.position(sym, PositionSide.BOTH).amount == net[sym]
    for sym, orders in ex.ledger.orders.items():
        for order in orders.values():
            assert 0 <= order.executed_qty <= order.orig_qty
            assert order.executed_qty == per_order[(sym, order.order_id)]
            assert order.is_open == (order.order_id in ex.ledger.open_orders[sym])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 5), actions=st.lists(action, max_size=25))
def test_same_seed_same_history(seed: int, actions: list[tuple[object, ...]]) -> None:
    first, second = _run(seed, actions), _run(seed, actions)
    assert [u.to_wire() for u in first.ledger.order_updates] == [
        u.to_wire() for u in second.ledger.order_updates
    ]
    assert first.ledger.account.wallet == second.ledger.account.wallet
