"""Modifying an open LIMIT order (``PUT /fapi/v1/order``).

The order keeps its ids and fills and takes new terms; anything that cannot be
modified is refused before any I/O; a modification whose answer is lost ends
with the order as the exchange shows it, never sent twice (faults.md row 36).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing

from tests.faults.support import (
    BOUND_S,
    ORDER_PATH,
    UNKNOWN_503,
    Answer,
    Rig,
    Rule,
    assert_engine_matches_ledger,
    errors_by_code,
    final_state,
    on_first,
    open_engine,
    record_events,
    resting_buy,
    rows_with,
)
from trio_fapi import OrderRequest, OrderStatus
from trio_fapi.protocol.errors import (
    ExchangeRejected,
    FilterViolation,
    InvalidOrder,
    NotFound,
    OutcomeUnknown,
)
from trio_fapi.protocol.messages import OrderAmended, OrderFilled, OrderSnapshot
from trio_fapi.sim import FaultKind

MODIFY = ("PUT", ORDER_PATH)
NEW, FILLED = OrderStatus.NEW, OrderStatus.FILLED


def ledger_terms(rig: Rig, order: OrderSnapshot) -> tuple[Decimal, Decimal]:
    """The (price, quantity) the exchange holds for the order."""
    (row,) = rows_with(rig.sim, order.client_order_id.value)
    return Decimal(str(row["price"])), Decimal(str(row["origQty"]))


async def open_limit(rig: Rig, strategy: str = "default", ticks: int = 50) -> OrderSnapshot:
    with trio.fail_after(BOUND_S):
        order = await rig.ex.place_order(await resting_buy(rig.ex, ticks=ticks), strategy=strategy)
    assert order.status is NEW
    return order


def lower(order: OrderSnapshot, ticks: int = 10) -> Decimal:
    """The order's price moved ``ticks`` of BTCUSDT's 0.10 tick down."""
    assert order.price is not None
    return order.price - Decimal("0.10") * ticks


class TestModify:
    async def test_new_price_and_quantity(self, autojump_clock: trio.testing.MockClock) -> None:
        async with open_engine() as rig, record_events(rig.ex) as rec:
            order = await open_limit(rig)
            price = lower(order)
            with trio.fail_after(BOUND_S):
                modified = await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity="0.003", price=price
                )
            assert modified.status is NEW
            assert (modified.price, modified.quantity) == (price, Decimal("0.003"))
            assert modified.client_order_id == order.client_order_id
            assert modified.venue_order_id == order.venue_order_id
            assert ledger_terms(rig, order) == (price, Decimal("0.003"))
            assert_engine_matches_ledger(rig.sim, modified)
            now = final_state(rig.ex, order.client_order_id.value)
            assert (now.price, now.quantity) == (price, Decimal("0.003"))
            amended = [
                e for e in rec.of(order.client_order_id.value) if isinstance(e, OrderAmended)
            ]
            assert len(amended) == 1
            assert (amended[0].order.price, amended[0].order.quantity) == (price, Decimal("0.003"))
            assert rig.tap.count(*MODIFY) == 1

    async def test_the_strategy_handle_modifies_its_own_order(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            mm = rig.ex.strategy("mm")
            order = await open_limit(rig, strategy="mm")
            with trio.fail_after(BOUND_S):
                modified = await mm.modify(
                    "BTCUSDT", order.client_order_id, quantity="0.002", price=lower(order, 3)
                )
            assert modified.price == lower(order, 3)
            assert ledger_terms(rig, order) == (lower(order, 3), Decimal("0.002"))
            (mine,) = mm.orders()
            assert mine.price == lower(order, 3)

    async def test_a_crossing_price_fills_the_order(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Moved through the ask, the order takes at once: FILLED, counted once."""
        async with open_engine() as rig, record_events(rig.ex) as rec:
            order = await open_limit(rig)
            ask = (await rig.ex.book_ticker("BTCUSDT")).ask_price
            with trio.fail_after(BOUND_S):
                modified = await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity="0.002", price=ask + Decimal(5)
                )
            assert modified.status is FILLED
            assert modified.executed_qty == Decimal("0.002")
            assert_engine_matches_ledger(rig.sim, modified)
            fills = [e for e in rec.of(order.client_order_id.value) if isinstance(e, OrderFilled)]
            assert len(fills) == 1

    async def test_a_fill_that_won_the_race_is_the_answer(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Filled on the exchange before the PUT arrived: the answer is the FILLED order."""
        async with open_engine(poll_interval_s=60.0) as rig:
            order = await open_limit(rig, ticks=5)
            rig.sim.set_price("BTCUSDT", lower(order, 100))  # trades through the order
            with trio.fail_after(BOUND_S):
                answer = await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity="0.003", price=lower(order, 200)
                )
            assert answer.status is FILLED
            assert answer.executed_qty == Decimal("0.002")
            assert answer.quantity == Decimal("0.002")  # the old terms: nothing was amended
            assert_engine_matches_ledger(rig.sim, answer)

    async def test_an_exchange_refusal_leaves_the_order_unchanged(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """500 BTC is more than the account's margin: -2019, the order keeps its terms."""
        async with open_engine() as rig:
            order = await open_limit(rig)
            with trio.fail_after(BOUND_S), pytest.raises(ExchangeRejected) as caught:
                await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity="500", price=lower(order, 0)
                )
            assert caught.value.code == -2019
            now = final_state(rig.ex, order.client_order_id.value)
            assert (now.status, now.price, now.quantity) == (NEW, order.price, order.quantity)
            assert ledger_terms(rig, order) == (order.price, order.quantity)
            assert rig.tap.count(*MODIFY) == 1

    async def test_the_terms_it_already_has_answer_with_the_order(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The exchange says -5027 "No need to modify": the order already is as asked."""
        async with open_engine() as rig:
            order = await open_limit(rig)
            assert order.price is not None
            assert order.quantity is not None
            with trio.fail_after(BOUND_S):
                same = await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity=order.quantity, price=order.price
                )
            assert (same.status, same.price, same.quantity) == (NEW, order.price, order.quantity)
            assert errors_by_code(rig.sim.stats()) == {"-5027": 1}
            assert rig.tap.count(*MODIFY) == 1


class TestRefusedBeforeIO:
    async def test_a_market_order(self, autojump_clock: trio.testing.MockClock) -> None:
        async with open_engine() as rig:
            order = await rig.ex.place_order(OrderRequest.market("BTCUSDT", "BUY", "0.002"))
            before = len(rig.tap.seen)
            with pytest.raises(InvalidOrder):
                await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity="0.003", price="50000"
                )
            assert len(rig.tap.seen) == before

    async def test_an_algo_order(self, autojump_clock: trio.testing.MockClock) -> None:
        async with open_engine() as rig:
            bid = (await rig.ex.book_ticker("BTCUSDT")).bid_price
            stop = await rig.ex.place_order(
                OrderRequest.stop_market("BTCUSDT", "SELL", bid - Decimal(500), "0.002")
            )
            before = len(rig.tap.seen)
            with pytest.raises(InvalidOrder):
                await rig.ex.modify_order(
                    "BTCUSDT", stop.client_order_id, quantity="0.003", price=bid - Decimal(400)
                )
            assert len(rig.tap.seen) == before
            assert final_state(rig.ex, stop.client_order_id.value).status is NEW

    @pytest.mark.parametrize(
        ("quantity", "price_offset"),
        [
            pytest.param("0.002", Decimal("0.05"), id="off-tick"),
            pytest.param("0.0025", Decimal(0), id="off-step"),
            pytest.param("0.001", Decimal(0), id="below-min-notional"),
        ],
    )
    async def test_a_filter_violation(
        self, quantity: str, price_offset: Decimal, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            order = await open_limit(rig)
            assert order.price is not None
            before = len(rig.tap.seen)
            with pytest.raises(FilterViolation):
                await rig.ex.modify_order(
                    "BTCUSDT",
                    order.client_order_id,
                    quantity=quantity,
                    price=lower(order) + price_offset,
                )
            assert len(rig.tap.seen) == before
            assert ledger_terms(rig, order) == (order.price, order.quantity)

    async def test_a_price_outside_the_percent_band(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A BUY moved 10% above the mark is refused locally; only the mark may be read."""
        async with open_engine() as rig:
            order = await open_limit(rig)
            ask = (await rig.ex.book_ticker("BTCUSDT")).ask_price
            mark = len(rig.tap.seen)
            with pytest.raises(FilterViolation) as caught:
                await rig.ex.modify_order(
                    "BTCUSDT",
                    order.client_order_id,
                    quantity="0.002",
                    price=(ask * Decimal("1.1")).quantize(Decimal("0.1")),
                )
            assert caught.value.filter == "PERCENT_PRICE"
            assert {s.path for s in rig.tap.seen[mark:]} <= {"/fapi/v1/premiumIndex"}
            assert rig.tap.count(*MODIFY) == 0

    @pytest.mark.parametrize("bad", [0.003, "0", "-1", "NaN", True])
    async def test_a_bad_number(self, bad: object, autojump_clock: trio.testing.MockClock) -> None:
        async with open_engine() as rig:
            order = await open_limit(rig)
            before = len(rig.tap.seen)
            with pytest.raises(InvalidOrder):
                await rig.ex.modify_order(
                    "BTCUSDT",
                    order.client_order_id,
                    quantity=bad,  # type: ignore[arg-type]
                    price=lower(order),
                )
            assert len(rig.tap.seen) == before

    async def test_another_strategys_order_is_not_found(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            theirs = await open_limit(rig, strategy="beta")
            for cid in (theirs.client_order_id.value, "no-such-order"):
                with trio.fail_after(BOUND_S), pytest.raises(NotFound):
                    await rig.ex.strategy("alpha").modify(
                        "BTCUSDT", cid, quantity="0.003", price=lower(theirs)
                    )
            assert rig.tap.count(*MODIFY) == 0
            assert ledger_terms(rig, theirs) == (theirs.price, theirs.quantity)

    async def test_a_gtd_order_can_be_modified(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            resting = await resting_buy(rig.ex)
            gtd = OrderRequest.limit(
                "BTCUSDT",
                "BUY",
                "0.002",
                resting.price,
                time_in_force="GTD",
                good_till_date=rig.sim.now_ms() + 3_600_000,
            )
            order = await rig.ex.place_order(gtd)
            with trio.fail_after(BOUND_S):
                modified = await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity="0.003", price=lower(order)
                )
            assert (modified.price, modified.quantity) == (lower(order), Decimal("0.003"))
            assert ledger_terms(rig, order) == (lower(order), Decimal("0.003"))


class TestLostAnswer:
    @pytest.mark.parametrize("fault", [FaultKind.LOST, FaultKind.UNKNOWN_503, FaultKind.DELAY])
    async def test_applied_then_lost_ends_with_the_new_terms(
        self, fault: FaultKind, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The exchange amended it and the answer never came: looked up, not resent."""
        async with open_engine(plan=on_first(fault, *MODIFY)) as rig:
            order = await open_limit(rig)
            price = lower(order)
            with trio.fail_after(BOUND_S):
                modified = await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity="0.003", price=price
                )
            assert [f.kind for f in rig.sim.injected_faults()] == [fault]
            assert (modified.price, modified.quantity) == (price, Decimal("0.003"))
            assert ledger_terms(rig, order) == (price, Decimal("0.003"))
            now = final_state(rig.ex, order.client_order_id.value)
            assert (now.price, now.quantity) == (price, Decimal("0.003"))
            assert_engine_matches_ledger(rig.sim, now)
            assert rig.tap.count(*MODIFY) == 1

    async def test_not_applied_and_ambiguous_keeps_the_old_terms(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """503 "Unknown error" and the exchange never had it: the old terms, said to be unknown."""
        answer = Answer(status=503, body=UNKNOWN_503, apply=False)
        async with open_engine(rules=(Rule(action=answer, method="PUT", path=ORDER_PATH),)) as rig:
            order = await open_limit(rig)
            with trio.fail_after(BOUND_S), pytest.raises(OutcomeUnknown):
                await rig.ex.modify_order(
                    "BTCUSDT", order.client_order_id, quantity="0.003", price=lower(order)
                )
            now = final_state(rig.ex, order.client_order_id.value)
            assert (now.status, now.price, now.quantity) == (NEW, order.price, order.quantity)
            assert ledger_terms(rig, order) == (order.price, order.quantity)
            assert rig.tap.count(*MODIFY) == 1
