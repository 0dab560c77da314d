"""The account-level halt: a refused key stops every keyed request until resumed.

-2015, -2014 and -1022 do not go away by retrying, and repeating them gets the
IP banned, so the first one halts trading: keyed calls are refused with
:class:`TradingHalted` before any I/O while public market data keeps working,
until ``resume_trading()`` (faults.md row 30).
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from tests.faults.support import (
    BOUND_S,
    NEW_ORDER,
    ORDER_PATH,
    Answer,
    Rig,
    Rule,
    Seen,
    assert_engine_matches_ledger,
    binance_error,
    final_state,
    open_engine,
    resting_buy,
)
from tests.scenarios.test_end_to_end import ledger_orders
from trio_fapi import OrderRequest, OrderStatus
from trio_fapi.protocol.endpoints import Security, endpoint_for
from trio_fapi.protocol.errors import ExchangeRejected, TradingHalted
from trio_fapi.protocol.messages import OrderSnapshot

NEW = OrderStatus.NEW
REVOKED = (-2015, "Invalid API-key, IP, or permissions for action.")


def refuse_key(
    code: int = REVOKED[0],
    msg: str = REVOKED[1],
    *,
    method: str = "POST",
    path: str = ORDER_PATH,
    nth: int = 1,
) -> tuple[Rule, ...]:
    """Request ``nth`` to the route is refused with ``code`` (401), never applied."""
    answer = Answer(status=401, body=binance_error(code, msg), apply=False)
    return (Rule(action=answer, method=method, path=path, nth=nth),)


def is_keyed(seen: Seen) -> bool:
    """Whether the request needed the API key (anything but public data)."""
    ep = endpoint_for(seen.method, seen.path)
    assert ep is not None, seen.path
    return ep.security not in (Security.NONE, Security.MARKET_DATA)


def keyed_since(rig: Rig, mark: int) -> list[Seen]:
    return [s for s in rig.tap.seen[mark:] if is_keyed(s)]


async def open_then_halt(rig: Rig) -> OrderSnapshot:
    """Place one order (it rests), then have the second placement refused: halted."""
    order = await rig.ex.place_order(await resting_buy(rig.ex))
    assert order.status is NEW
    with trio.fail_after(BOUND_S), pytest.raises(ExchangeRejected) as caught:
        await rig.ex.place_order(await resting_buy(rig.ex, ticks=60))
    assert caught.value.code == REVOKED[0]
    return order


class TestHalt:
    @pytest.mark.parametrize(
        ("code", "msg"),
        [
            REVOKED,
            (-2014, "API-key format invalid."),
            (-1022, "Signature for this request is not valid."),
        ],
    )
    async def test_a_refused_key_halts_and_says_why(
        self, code: int, msg: str, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine(rules=refuse_key(code, msg)) as rig:
            with trio.fail_after(BOUND_S), pytest.raises(ExchangeRejected):
                await rig.ex.place_order(await resting_buy(rig.ex))
            halted = rig.ex.halted
            assert isinstance(halted, TradingHalted)
            assert halted.code == code
            reason = rig.ex.statistics().halted
            assert reason is not None
            assert str(code) in reason
            assert rig.posts() == 1

    async def test_keyed_calls_are_refused_with_zero_io(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine(rules=refuse_key(nth=2)) as rig:
            order = await open_then_halt(rig)
            request = await resting_buy(rig.ex, ticks=70)
            cid = order.client_order_id
            mark = len(rig.tap.seen)
            with pytest.raises(TradingHalted):
                await rig.ex.place_order(request)
            with pytest.raises(TradingHalted):
                await rig.ex.positions()
            with pytest.raises(TradingHalted):
                await rig.ex.open_orders("BTCUSDT")
            with pytest.raises(TradingHalted):
                await rig.ex.cancel_order("BTCUSDT", cid)
            assert request.price is not None
            with pytest.raises(TradingHalted):
                await rig.ex.modify_order("BTCUSDT", cid, quantity="0.003", price=request.price)
            with pytest.raises(TradingHalted):
                await rig.ex.cancel_orders("BTCUSDT", [cid])
            (batch_result,) = await rig.ex.place_orders([request])
            assert isinstance(batch_result, TradingHalted)
            await trio.sleep(10)  # background loops (polling, heartbeats) keep quiet too
            assert keyed_since(rig, mark) == []
            assert rig.posts() == 2
            assert final_state(rig.ex, cid.value).status is NEW

    async def test_public_market_data_still_works(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine(rules=refuse_key()) as rig:
            with pytest.raises(ExchangeRejected):
                await rig.ex.place_order(await resting_buy(rig.ex))
            assert rig.ex.halted is not None
            book = await rig.ex.book_ticker("BTCUSDT")
            assert book.bid_price > 0
            assert (await rig.ex.ticker_price("ETHUSDT")).price > 0
            assert (await rig.ex.health_check()).ok

    async def test_a_refusal_that_is_not_about_the_key_does_not_halt(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        rules = refuse_key(-2019, "Margin is insufficient.")
        async with open_engine(rules=rules) as rig:
            with pytest.raises(ExchangeRejected):
                await rig.ex.place_order(await resting_buy(rig.ex))
            assert rig.ex.halted is None
            assert rig.ex.statistics().halted is None
            order = await rig.ex.place_order(await resting_buy(rig.ex, ticks=60))
            assert order.status is NEW

    async def test_a_refused_read_halts_too(self, autojump_clock: trio.testing.MockClock) -> None:
        rules = refuse_key(method="GET", path="/fapi/v3/positionRisk")
        async with open_engine(rules=rules) as rig:
            with pytest.raises(ExchangeRejected):
                await rig.ex.positions()
            assert isinstance(rig.ex.halted, TradingHalted)
            posts = rig.posts()
            with pytest.raises(TradingHalted):
                await rig.ex.place_order(await resting_buy(rig.ex))
            assert rig.posts() == posts


class TestResume:
    async def test_resume_lifts_the_halt_and_the_next_order_is_placed(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine(rules=refuse_key(nth=2)) as rig:
            await open_then_halt(rig)
            rig.ex.resume_trading()
            assert rig.ex.halted is None
            assert rig.ex.statistics().halted is None
            with trio.fail_after(BOUND_S):
                order = await rig.ex.place_order(await resting_buy(rig.ex, ticks=80))
            assert order.status is NEW
            assert_engine_matches_ledger(rig.sim, order)
            assert rig.tap.count(*NEW_ORDER) == 3
            assert isinstance(await rig.ex.positions("BTCUSDT"), list)  # keyed reads work again
            assert len(ledger_orders(rig.sim)) == 2

    async def test_resume_without_a_halt_is_harmless(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with open_engine() as rig:
            rig.ex.resume_trading()
            order = await rig.ex.place_order(
                OrderRequest.limit("BTCUSDT", "BUY", "0.002", (await resting_buy(rig.ex)).price)
            )
            assert order.status is NEW
            assert rig.ex.halted is None

    async def test_a_second_refusal_after_resume_halts_again(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        rules = (*refuse_key(nth=1), *refuse_key(nth=2))
        async with open_engine(rules=rules) as rig:
            with pytest.raises(ExchangeRejected):
                await rig.ex.place_order(await resting_buy(rig.ex))
            rig.ex.resume_trading()
            with pytest.raises(ExchangeRejected):
                await rig.ex.place_order(await resting_buy(rig.ex, ticks=60))
            assert isinstance(rig.ex.halted, TradingHalted)
            assert rig.posts() == 2
