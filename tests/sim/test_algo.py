"""Algo (conditional) orders: trigger on the price path, then become real orders."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing

from trio_fapi.protocol.enums import (
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
    WorkingType,
)
from trio_fapi.sim import SimError, SimulatedExchange
from trio_fapi.sim.commands import NewAlgoOrder

from .conftest import T0, SimClient, new_exchange, place


def algo(
    ex: SimulatedExchange,
    order_type: str,
    side: str,
    *,
    trigger: str | None = None,
    qty: str | None = "0.010",
    price: str | None = None,
    activate: str | None = None,
    callback: str | None = None,
    close_position: bool = False,
    reduce_only: bool = False,
    client_id: str | None = None,
) -> int:
    cmd = NewAlgoOrder(
        symbol="BTCUSDT",
        side=OrderSide(side),
        order_type=OrderType(order_type),
        quantity=Decimal(qty) if qty else None,
        price=Decimal(price) if price else None,
        trigger_price=Decimal(trigger) if trigger else None,
        time_in_force=TimeInForce.GTC,
        position_side=None,
        working_type=WorkingType.CONTRACT_PRICE,
        reduce_only=reduce_only,
        close_position=close_position,
        price_protect=False,
        activate_price=Decimal(activate) if activate else None,
        callback_rate=Decimal(callback) if callback else None,
        client_algo_id=client_id,
    )
    return ex.algos.place(cmd, ex.now_ms).algo_id


class TestTriggers:
    """STOP fires on the way through its trigger, TAKE_PROFIT on the way back."""

    def test_stop_market_sell(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "0.010")
        algo_id = algo(ex, "STOP_MARKET", "SELL", trigger="59500.00", reduce_only=True)
        ex.set_price("BTCUSDT", "59600.00", T0)
        assert ex.algos.algos[algo_id].status == "NEW"
        ex.set_price("BTCUSDT", "59500.00", T0 + 10)
        a = ex.algos.algos[algo_id]
        assert a.status == "FINISHED"
        assert a.actual_order_id is not None
        order = ex.ledger.orders["BTCUSDT"][a.actual_order_id]
        assert order.status is OrderStatus.FILLED
        assert (order.order_type, order.orig_type) == (OrderType.MARKET, OrderType.STOP_MARKET)
        assert order.stop_price == Decimal("59500.00")
        assert ex.ledger.account.position("BTCUSDT", PositionSide.BOTH).amount == 0
        statuses = [u.o["X"] for u in ex.algos.updates]
        assert statuses == ["NEW", "TRIGGERING", "TRIGGERED", "FINISHED"]

    def test_stop_buy_triggers_when_price_rises(self) -> None:
        ex = new_exchange()
        algo_id = algo(ex, "STOP_MARKET", "BUY", trigger="60500.00")
        ex.set_price("BTCUSDT", "60499.90", T0)
        assert ex.algos.algos[algo_id].status == "NEW"
        ex.set_price("BTCUSDT", "60500.00", T0)
        assert ex.algos.algos[algo_id].status == "FINISHED"

    def test_take_profit_limit_rests_until_filled(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "0.010")
        algo_id = algo(ex, "TAKE_PROFIT", "SELL", trigger="61000.00", price="61100.00")
        ex.set_price("BTCUSDT", "61000.00", T0)
        a = ex.algos.algos[algo_id]
        assert a.status == "TRIGGERED"
        assert a.actual_order_id is not None
        order = ex.ledger.orders["BTCUSDT"][a.actual_order_id]
        assert (order.order_type, order.status) == (OrderType.LIMIT, OrderStatus.NEW)
        ex.set_price("BTCUSDT", "61100.00", T0 + 10)
        assert order.status is OrderStatus.FILLED
        assert a.status == "FINISHED"
        assert a.actual_price == Decimal("61100.00")

    def test_would_immediately_trigger(self) -> None:
        ex = new_exchange()
        with pytest.raises(SimError) as err:
            algo(ex, "STOP_MARKET", "SELL", trigger="60100.00")
        assert err.value.code == -2021
        with pytest.raises(SimError) as err:
            algo(ex, "TAKE_PROFIT_MARKET", "BUY", trigger="60100.00")
        assert err.value.code == -2021

    def test_trailing_stop_sell(self) -> None:
        ex = new_exchange()
        place(ex, "BUY", "0.010")
        algo_id = algo(ex, "TRAILING_STOP_MARKET", "SELL", activate="61000.00", callback="1")
        for price in ("60800.00", "61000.00", "62000.00", "61400.00"):
            ex.set_price("BTCUSDT", price, T0)
        assert ex.algos.algos[algo_id].status == "NEW"  # 1% below 62000 is 61380
        ex.set_price("BTCUSDT", "61380.00", T0)
        assert ex.algos.algos[algo_id].status == "FINISHED"

    def test_trailing_activation_on_the_wrong_side(self) -> None:
        with pytest.raises(SimError) as err:
            algo(new_exchange(), "TRAILING_STOP_MARKET", "SELL", activate="59000.00", callback="1")
        assert err.value.code == -2021

    def test_close_position(self) -> None:
        ex = new_exchange()
        place(ex, "SELL", "0.025")
        algo(ex, "STOP_MARKET", "BUY", trigger="60500.00", qty=None, close_position=True)
        ex.set_price("BTCUSDT", "60600.00", T0)
        assert ex.ledger.account.position("BTCUSDT", PositionSide.BOTH).amount == 0

    def test_rejected_when_the_order_is_refused(self) -> None:
        ex = new_exchange()
        algo_id = algo(ex, "STOP_MARKET", "SELL", trigger="59500.00", reduce_only=True)
        ex.set_price("BTCUSDT", "59400.00", T0)  # no position to reduce
        assert ex.algos.algos[algo_id].status == "REJECTED"
        assert ex.ledger.orders["BTCUSDT"] == {}

    def test_cancel(self) -> None:
        ex = new_exchange()
        algo_id = algo(ex, "STOP_MARKET", "BUY", trigger="60500.00", client_id="stop-1")
        assert ex.algos.cancel(None, "stop-1", T0).algo_id == algo_id
        with pytest.raises(SimError) as err:
            ex.algos.cancel(algo_id, None, T0)
        assert err.value.code == -2011
        ex.set_price("BTCUSDT", "61000.00", T0)
        assert ex.ledger.orders["BTCUSDT"] == {}


class TestRoutes:
    """The algo endpoints over the transport, triggered by the ticking market."""

    async def test_place_query_list_cancel(self, client: SimClient) -> None:
        base = [("algoType", "CONDITIONAL"), ("symbol", "BTCUSDT"), ("side", "BUY")]
        r = await client.signed(
            "POST",
            "/fapi/v1/algoOrder",
            [
                *base,
                ("type", "STOP_MARKET"),
                ("quantity", "0.010"),
                ("triggerPrice", "61000.00"),
                ("clientAlgoId", "s1"),
            ],
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["algoStatus"], body["clientAlgoId"], body["triggerPrice"]) == (
            "NEW",
            "s1",
            "61000.00",
        )
        r = await client.signed("GET", "/fapi/v1/algoOrder", [("algoId", str(body["algoId"]))])
        assert r.json()["algoId"] == body["algoId"]
        r = await client.signed("GET", "/fapi/v1/openAlgoOrders")
        assert [a["clientAlgoId"] for a in r.json()] == ["s1"]
        r = await client.signed(
            "POST", "/fapi/v1/algoOrder", [*base, ("type", "LIMIT"), ("quantity", "0.010")]
        )
        assert r.json()["code"] == -1116
        r = await client.signed("DELETE", "/fapi/v1/algoOrder", [("clientAlgoId", "s1")])
        assert r.json() == {
            "algoId": body["algoId"],
            "clientAlgoId": "s1",
            "code": "200",
            "msg": "success",
        }
        r = await client.signed("GET", "/fapi/v1/allAlgoOrders", [("symbol", "BTCUSDT")])
        assert [a["algoStatus"] for a in r.json()] == ["CANCELED"]
        r = await client.signed("DELETE", "/fapi/v1/algoOrder", [("algoId", "999")])
        assert r.json()["code"] == -2011

    async def test_triggers_in_virtual_time(
        self, client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        await client.signed(
            "POST",
            "/fapi/v1/algoOrder",
            [
                ("algoType", "CONDITIONAL"),
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "STOP_MARKET"),
                ("quantity", "0.010"),
                ("triggerPrice", "60100.00"),
            ],
        )
        client.sim.exchange.ledger.symbol_market("BTCUSDT").price_ticks = 601_500  # path moves
        await trio.sleep(0.2)  # the next tick sees it
        rows = client.sim.ledger()["algoOrders"]
        assert isinstance(rows, list)
        (algo_row,) = rows
        assert algo_row["algoStatus"] == "FINISHED"
        r = await client.signed("DELETE", "/fapi/v1/algoOpenOrders", [("symbol", "BTCUSDT")])
        assert r.json()["code"] == 200
