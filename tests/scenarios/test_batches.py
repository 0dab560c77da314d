"""Batch placement and batch cancel: one result per item, in order, each on its own.

``Executor.place_orders`` sends up to 5 orders per ``POST /fapi/v1/batchOrders``
and ``Executor.cancel_orders`` up to 10 ids per ``DELETE /fapi/v1/batchOrders``.
An item the exchange refuses fails alone, an item refused locally is never sent,
and a batch whose answer is lost is resolved item by item by evidence, never
resent (I1).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.testing

from tests.faults.support import (
    BOUND_S,
    UNKNOWN_503,
    Answer,
    Mutate,
    Rig,
    Rule,
    assert_engine_matches_ledger,
    on_first,
    open_engine,
    resting_buy,
    rows_with,
)
from tests.scenarios.test_end_to_end import ledger_orders
from trio_fapi import OrderRequest, OrderStatus
from trio_fapi.protocol.errors import (
    EngineError,
    ExchangeRejected,
    ExchangeUnavailable,
    FilterViolation,
    InvalidCombination,
    NotFound,
    UnknownSymbol,
)
from trio_fapi.protocol.messages import OrderSnapshot
from trio_fapi.sim import FaultKind

BATCH = ("POST", "/fapi/v1/batchOrders")
CANCEL_BATCH = ("DELETE", "/fapi/v1/batchOrders")
NEW, CANCELED, FILLED = OrderStatus.NEW, OrderStatus.CANCELED, OrderStatus.FILLED
TICK = Decimal("0.1")


def batch_sizes(rig: Rig) -> list[int]:
    """How many orders each batch placement carried."""
    return [len(json.loads(s.params["batchOrders"])) for s in rig.tap.requests(*BATCH)]


def cancel_sizes(rig: Rig) -> list[int]:
    """How many ids each batch cancel carried."""
    return [
        len(json.loads(s.params["origClientOrderIdList"])) for s in rig.tap.requests(*CANCEL_BATCH)
    ]


def sent_client_ids(rig: Rig) -> list[str]:
    """The client ids of every order a batch placement carried, in send order."""
    return [
        item["newClientOrderId"]
        for s in rig.tap.requests(*BATCH)
        for item in json.loads(s.params["batchOrders"])
    ]


def placed(results: list[OrderSnapshot | EngineError]) -> list[OrderSnapshot]:
    """The results that are orders; fails on any error."""
    out = []
    for result in results:
        assert isinstance(result, OrderSnapshot), result
        out.append(result)
    return out


async def resting_buys(rig: Rig, symbol: str, count: int, qty: str) -> list[OrderRequest]:
    return [await resting_buy(rig.ex, symbol=symbol, qty=qty, ticks=50 + i) for i in range(count)]


async def place_many(
    rig: Rig, requests: list[OrderRequest], strategy: str = "default"
) -> list[OrderSnapshot | EngineError]:
    with trio.fail_after(BOUND_S):
        return await rig.ex.place_orders(requests, strategy=strategy)


class TestPlaceOrders:
    async def test_seven_orders_on_two_symbols_in_batches_of_five(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            btc = await resting_buys(rig, "BTCUSDT", 6, "0.002")
            eth = await resting_buys(rig, "ETHUSDT", 1, "0.050")
            # Interleaved: the answers must still come back in request order.
            requests = [btc[0], eth[0], *btc[1:]]
            results = placed(await place_many(rig, requests))
            assert len(results) == 7
            for request, order in zip(requests, results, strict=True):
                assert order.status is NEW
                assert (order.symbol, order.price) == (request.symbol, request.price)
                assert order.quantity == request.quantity
                assert_engine_matches_ledger(rig.sim, order)
            assert sorted(batch_sizes(rig)) == [1, 1, 5]
            assert rig.posts() == 0  # nothing went one by one
            assert len(ledger_orders(rig.sim)) == 7
            assert len({o.client_order_id for o in results}) == 7

    async def test_a_refused_item_fails_alone(self, autojump_clock: trio.testing.MockClock) -> None:
        """A reduce-only SELL with no position (-2022) is refused; its neighbours land."""
        async with open_engine() as rig:
            buys = await resting_buys(rig, "BTCUSDT", 2, "0.002")
            ask = (await rig.ex.book_ticker("BTCUSDT")).ask_price
            reduce = OrderRequest.limit(
                "BTCUSDT", "SELL", "0.002", ask + Decimal(100), reduce_only=True
            )
            first, refused, last = await place_many(rig, [buys[0], reduce, buys[1]])
            assert isinstance(refused, ExchangeRejected)
            assert refused.code == -2022
            for order in placed([first, last]):
                assert order.status is NEW
                assert_engine_matches_ledger(rig.sim, order)
            assert batch_sizes(rig) == [3]
            assert len(ledger_orders(rig.sim)) == 2
            (record,) = [o for o in rig.ex.orders() if o.side.value == "SELL"]
            assert record.status is OrderStatus.REJECTED

    async def test_a_locally_invalid_item_is_its_error_and_never_sent(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            good = await resting_buys(rig, "BTCUSDT", 2, "0.002")
            assert good[0].price is not None
            off_tick = OrderRequest.limit(
                "BTCUSDT", "BUY", "0.002", good[0].price + Decimal("0.05")
            )
            unknown = OrderRequest.limit("XRPUSDT", "BUY", "100", "0.5")
            results = await place_many(rig, [off_tick, good[0], unknown, good[1]])
            assert isinstance(results[0], FilterViolation)
            assert isinstance(results[2], UnknownSymbol)
            for order in placed([results[1], results[3]]):
                assert_engine_matches_ledger(rig.sim, order)
            assert batch_sizes(rig) == [2]
            assert len(ledger_orders(rig.sim)) == 2

    async def test_the_percent_price_band_is_checked_with_a_fresh_mark(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Prices 10% through the mark are refused locally; a stale mark costs one public read."""
        async with open_engine() as rig:
            bid = (await rig.ex.book_ticker("BTCUSDT")).bid_price
            await trio.sleep(rig.ex.config.mark_price_max_age_s + 1)  # the start-up marks age
            mark = len(rig.tap.seen)
            buy = OrderRequest.limit(
                "BTCUSDT", "BUY", "0.002", (bid * Decimal("1.1")).quantize(TICK)
            )
            sell = OrderRequest.limit(
                "BTCUSDT", "SELL", "0.002", (bid * Decimal("0.9")).quantize(TICK)
            )
            results = await place_many(rig, [buy, sell])
            assert [type(r) for r in results] == [FilterViolation, FilterViolation]
            assert [r.filter for r in results if isinstance(r, FilterViolation)] == [
                "PERCENT_PRICE"
            ] * 2
            assert [(s.method, s.path) for s in rig.tap.seen[mark:]] == [
                ("GET", "/fapi/v1/premiumIndex")
            ]

    async def test_an_algo_order_cannot_be_batched(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            (good,) = await resting_buys(rig, "BTCUSDT", 1, "0.002")
            bid = (await rig.ex.book_ticker("BTCUSDT")).bid_price
            stop = OrderRequest.stop_market("BTCUSDT", "SELL", bid - Decimal(500), "0.002")
            refused, order = await place_many(rig, [stop, good])
            assert isinstance(refused, InvalidCombination)
            assert isinstance(order, OrderSnapshot)
            assert order.status is NEW
            assert batch_sizes(rig) == [1]
            assert rig.tap.count("POST", "/fapi/v1/algoOrder") == 0
            assert len(ledger_orders(rig.sim)) == 1

    async def test_only_invalid_items_make_no_request(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            before = len(rig.tap.seen)
            results = await place_many(
                rig, [OrderRequest.limit("BTCUSDT", "BUY", "0.0025", "50000")]
            )
            assert [type(r) for r in results] == [FilterViolation]
            assert len(rig.tap.seen) == before
            assert await rig.ex.place_orders([]) == []

    @pytest.mark.parametrize("fault", [FaultKind.LOST, FaultKind.UNKNOWN_503, FaultKind.DELAY])
    async def test_a_lost_answer_is_resolved_per_item_never_resent(
        self, fault: FaultKind, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The exchange applied the batch, the answer never came: each item is queried (I1)."""
        async with open_engine(plan=on_first(fault, *BATCH)) as rig:
            requests = await resting_buys(rig, "BTCUSDT", 5, "0.002")
            results = placed(await place_many(rig, requests))
            assert [o.status for o in results] == [NEW] * 5
            for order in results:
                assert_engine_matches_ledger(rig.sim, order)
            assert [f.kind for f in rig.sim.injected_faults()] == [fault]
            assert rig.tap.count(*BATCH) == 1
            assert rig.posts() == 0
            queried = {s.client_order_id for s in rig.tap.requests("GET", "/fapi/v1/order")}
            assert queried >= {o.client_order_id.value for o in results}

    async def test_a_lost_batch_of_two_calls_resends_neither(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Seven orders, two calls, the first answer lost: still seven orders, two calls."""
        async with open_engine(plan=on_first(FaultKind.LOST, *BATCH)) as rig:
            requests = await resting_buys(rig, "BTCUSDT", 7, "0.002")
            results = placed(await place_many(rig, requests))
            for order in results:
                assert order.status is NEW
                assert_engine_matches_ledger(rig.sim, order)
            assert [f.kind for f in rig.sim.injected_faults()] == [FaultKind.LOST]
            assert rig.tap.count(*BATCH) == 2
            sent = sent_client_ids(rig)
            assert sorted(sent) == sorted(o.client_order_id.value for o in results)

    async def test_an_unapplied_ambiguous_batch_is_proven_absent_item_by_item(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """503 "Unknown error" and the exchange never had it: REJECTED by proof, never resent."""
        answer = Answer(status=503, body=UNKNOWN_503, apply=False)
        async with open_engine(rules=(Rule(action=answer, method=BATCH[0], path=BATCH[1]),)) as rig:
            requests = await resting_buys(rig, "BTCUSDT", 3, "0.002")
            results = await place_many(rig, requests)
            assert all(isinstance(r, ExchangeUnavailable) for r in results), results
            assert [o.status for o in rig.ex.orders()] == [OrderStatus.REJECTED] * 3
            (post,) = rig.tap.requests(*BATCH)
            window = rig.ex.config.recv_window_ms / 1000 + rig.ex.config.query_lag_s
            assert trio.current_time() >= post.time_s + window
            assert ledger_orders(rig.sim) == []

    async def test_a_lost_batch_with_a_refused_item(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The exchange placed two and refused one; the answer was lost: two NEW, one REJECTED."""
        async with open_engine(plan=on_first(FaultKind.LOST, *BATCH)) as rig:
            buys = await resting_buys(rig, "BTCUSDT", 2, "0.002")
            ask = (await rig.ex.book_ticker("BTCUSDT")).ask_price
            reduce = OrderRequest.limit(
                "BTCUSDT", "SELL", "0.002", ask + Decimal(100), reduce_only=True
            )
            first, refused, last = await place_many(rig, [buys[0], reduce, buys[1]])
            for order in placed([first, last]):
                assert order.status is NEW
                assert_engine_matches_ledger(rig.sim, order)
            assert isinstance(refused, EngineError)
            (record,) = [o for o in rig.ex.orders() if o.side.value == "SELL"]
            assert record.status is OrderStatus.REJECTED
            assert rows_with(rig.sim, record.client_order_id.value) == []
            assert rig.tap.count(*BATCH) == 1

    @pytest.mark.parametrize(
        "edit",
        [
            pytest.param(lambda items: items[:-1], id="an-item-missing"),
            pytest.param(lambda items: {"unexpected": True}, id="not-a-list"),
            pytest.param(
                lambda items: [
                    items[0],
                    {"code": -1006, "msg": "An unexpected response was received."},
                    items[2],
                ],
                id="item-status-unknown",
            ),
        ],
    )
    async def test_an_answer_it_cannot_trust_is_looked_up(
        self, edit: Callable[[Any], object], autojump_clock: trio.testing.MockClock
    ) -> None:
        """Applied, then answered oddly: the items in doubt are queried, none resent (I1, I3)."""
        rule = Rule(action=Mutate(edit=edit), method=BATCH[0], path=BATCH[1])
        async with open_engine(rules=(rule,)) as rig:
            requests = await resting_buys(rig, "BTCUSDT", 3, "0.002")
            results = placed(await place_many(rig, requests))
            for order in results:
                assert order.status is NEW
                assert_engine_matches_ledger(rig.sim, order)
            assert rig.tap.count(*BATCH) == 1
            assert len(ledger_orders(rig.sim)) == 3

    async def test_own_client_ids_are_kept_and_a_repeat_is_refused(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            a, b = await resting_buys(rig, "BTCUSDT", 2, "0.002")
            mine = OrderRequest.limit(
                "BTCUSDT", "BUY", a.quantity, a.price, client_order_id="my-batch-1"
            )
            again = OrderRequest.limit(
                "BTCUSDT", "BUY", b.quantity, b.price, client_order_id="my-batch-1"
            )
            first, second = await place_many(rig, [mine, again])
            assert isinstance(first, OrderSnapshot)
            assert first.client_order_id.value == "my-batch-1"
            assert isinstance(second, EngineError)
            assert len(rows_with(rig.sim, "my-batch-1")) == 1
            assert len(ledger_orders(rig.sim)) == 1


class TestCancelOrders:
    async def test_twelve_open_orders_in_two_calls(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            orders = placed(await place_many(rig, await resting_buys(rig, "BTCUSDT", 12, "0.002")))
            ids = [o.client_order_id for o in orders]
            with trio.fail_after(BOUND_S):
                results = placed(await rig.ex.cancel_orders("BTCUSDT", ids))
            assert [o.client_order_id for o in results] == ids
            assert [o.status for o in results] == [CANCELED] * 12
            for order in results:
                assert_engine_matches_ledger(rig.sim, order)
            assert sorted(cancel_sizes(rig)) == [2, 10]
            assert rig.tap.count("DELETE", "/fapi/v1/order") == 0

    @pytest.mark.parametrize("fault", [FaultKind.LOST, FaultKind.UNKNOWN_503])
    async def test_a_lost_cancel_answer_is_looked_up(
        self, fault: FaultKind, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The exchange canceled them and the answer was lost: CANCELED, as the ledger says."""
        async with open_engine(plan=on_first(fault, *CANCEL_BATCH)) as rig:
            orders = placed(await place_many(rig, await resting_buys(rig, "BTCUSDT", 3, "0.002")))
            with trio.fail_after(BOUND_S):
                results = placed(
                    await rig.ex.cancel_orders("BTCUSDT", [o.client_order_id for o in orders])
                )
            assert [f.kind for f in rig.sim.injected_faults()] == [fault]
            assert [o.status for o in results] == [CANCELED] * 3
            for order in results:
                assert_engine_matches_ledger(rig.sim, order)
            assert 1 <= rig.tap.count(*CANCEL_BATCH) <= 2  # a second cancel is harmless

    async def test_another_strategys_ids_are_not_found(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            a_req, b_req = await resting_buys(rig, "BTCUSDT", 2, "0.002")
            (mine,) = placed(await place_many(rig, [a_req], strategy="alpha"))
            (theirs,) = placed(await place_many(rig, [b_req], strategy="beta"))
            with trio.fail_after(BOUND_S):
                canceled, refused, unknown = await rig.ex.strategy("alpha").cancel_many(
                    "BTCUSDT", [mine.client_order_id, theirs.client_order_id, "no-such-order"]
                )
            assert isinstance(canceled, OrderSnapshot)
            assert canceled.status is CANCELED
            assert isinstance(refused, NotFound)
            assert isinstance(unknown, NotFound)
            (row,) = rows_with(rig.sim, theirs.client_order_id.value)
            assert row["status"] == "NEW"  # never touched
            assert cancel_sizes(rig) == [1]

    @pytest.mark.parametrize("engine_knows", [False, True], ids=["unseen-fill", "seen-fill"])
    async def test_an_already_filled_order_comes_back_filled(
        self, engine_knows: bool, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine(poll_interval_s=0.5) as rig:
            near = await resting_buy(rig.ex, ticks=5)
            far = await resting_buy(rig.ex, ticks=2000)
            near_order, far_order = placed(await place_many(rig, [near, far]))
            assert near.price is not None
            rig.sim.set_price("BTCUSDT", near.price - Decimal(10))  # trades through `near`
            (row,) = rows_with(rig.sim, near_order.client_order_id.value)
            assert row["status"] == "FILLED"
            if engine_knows:
                with trio.fail_after(BOUND_S):
                    while True:  # the polling loop notices the fill
                        if rig.ex.orders()[0].status is FILLED:
                            break
                        await trio.sleep(0.5)
            with trio.fail_after(BOUND_S):
                filled, canceled = await rig.ex.cancel_orders(
                    "BTCUSDT", [near_order.client_order_id, far_order.client_order_id]
                )
            assert isinstance(filled, OrderSnapshot)
            assert filled.status is FILLED
            assert filled.executed_qty == Decimal("0.002")
            assert isinstance(canceled, OrderSnapshot)
            assert canceled.status is CANCELED
            assert_engine_matches_ledger(rig.sim, filled)
            assert_engine_matches_ledger(rig.sim, canceled)

    async def test_an_algo_order_is_canceled_through_the_algo_service(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The Algo Service has no batch cancel: the stop goes alone, the LIMIT in the batch."""
        async with open_engine() as rig:
            bid = (await rig.ex.book_ticker("BTCUSDT")).bid_price
            stop = await rig.ex.place_order(
                OrderRequest.stop_market("BTCUSDT", "SELL", bid - Decimal(500), "0.002")
            )
            limit = await rig.ex.place_order(await resting_buy(rig.ex))
            with trio.fail_after(BOUND_S):
                results = placed(
                    await rig.ex.cancel_orders(
                        "BTCUSDT", [stop.client_order_id, limit.client_order_id]
                    )
                )
            assert [o.status for o in results] == [CANCELED, CANCELED]
            assert rig.tap.count("DELETE", "/fapi/v1/algoOrder") == 1
            assert cancel_sizes(rig) == [1]
            algo_rows = rig.sim.ledger()["algoOrders"]
            assert isinstance(algo_rows, list)
            assert [r["algoStatus"] for r in algo_rows] == ["CANCELED"]
            assert_engine_matches_ledger(rig.sim, results[1])

    async def test_unknown_symbol_and_no_ids(self, autojump_clock: trio.testing.MockClock) -> None:
        async with open_engine() as rig:
            with pytest.raises(UnknownSymbol):
                await rig.ex.cancel_orders("XRPUSDT", ["a"])
            assert await rig.ex.cancel_orders("BTCUSDT", []) == []
            assert rig.tap.count(*CANCEL_BATCH) == 0
