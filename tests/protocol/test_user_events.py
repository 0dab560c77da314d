"""User-data stream events parse into typed values, or fail one way (faults.md rows 37-43, 64)."""

from __future__ import annotations

import copy
import json
import traceback
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trio_fapi.protocol.credentials import Secret
from trio_fapi.protocol.enums import (
    MarginType,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    TimeInForce,
    WorkingType,
)
from trio_fapi.protocol.errors import EngineError
from trio_fapi.protocol.ids import ClientOrderId, Symbol, VenueOrderId
from trio_fapi.protocol.user_events import (
    AccountConfigUpdate,
    AccountUpdate,
    AlgoUpdate,
    BalanceChange,
    ExecutionType,
    ListenKeyExpired,
    MalformedEvent,
    MarginCall,
    OrderTradeUpdate,
    PositionChange,
    TradeLite,
    UnknownEvent,
    UserEvent,
    parse_user_event,
)
from trio_fapi.sim.algo import AlgoOrder as SimAlgoOrder
from trio_fapi.sim.algo import AlgoUpdate as SimAlgoUpdate
from trio_fapi.sim.commands import NewAlgoOrder
from trio_fapi.sim.records import Execution, OrderUpdate, SimOrder

Frame = dict[str, Any]

LISTEN_KEY = "WsCMN0a4KHUPTQuX6IUnqEZfB1inxmv1qR4kbf1LuEjur5VdbzqvyxqG9TSjVVxv"

# -- frames shaped like Binance's documentation (binance-fapi.md 8.2-8.4) ----------------

DOC_ORDER_NEW: Frame = {
    "e": "ORDER_TRADE_UPDATE",
    "E": 1568879465651,
    "T": 1568879465650,
    "o": {
        "s": "BTCUSDT",
        "c": "TEST",
        "S": "SELL",
        "o": "TRAILING_STOP_MARKET",
        "f": "GTC",
        "q": "0.001",
        "p": "0",
        "ap": "0",
        "sp": "7103.04",
        "x": "NEW",
        "X": "NEW",
        "i": 8886774,
        "l": "0",
        "z": "0",
        "L": "0",
        "N": "USDT",
        "n": "0",
        "T": 1568879465650,
        "t": 0,
        "b": "0",
        "a": "9.91",
        "m": False,
        "R": False,
        "wt": "CONTRACT_PRICE",
        "ot": "TRAILING_STOP_MARKET",
        "ps": "LONG",
        "cp": False,
        "AP": "7476.89",
        "cr": "5.0",
        "pP": False,
        "si": 0,
        "ss": 0,
        "rp": "0",
        "V": "EXPIRE_TAKER",
        "pm": "OPPONENT",
        "gtd": 0,
        "er": "0",
    },
}

DOC_ORDER_FILL: Frame = {
    "e": "ORDER_TRADE_UPDATE",
    "E": 1763712004570,
    "T": 1763712004567,
    "o": {
        "s": "BTCUSDT",
        "c": "trio-7f3a-0001",
        "S": "BUY",
        "o": "LIMIT",
        "f": "GTC",
        "q": "0.005",
        "p": "61250.10",
        "ap": "61250.10",
        "sp": "0.00",
        "x": "TRADE",
        "X": "PARTIALLY_FILLED",
        "i": 4082713652,
        "l": "0.002",
        "z": "0.002",
        "L": "61250.10",
        "N": "USDT",
        "n": "-0.00612501",
        "T": 1763712004567,
        "t": 9001,
        "b": "184.00",
        "a": "0",
        "m": True,
        "R": False,
        "wt": "CONTRACT_PRICE",
        "ot": "LIMIT",
        "ps": "BOTH",
        "cp": False,
        "pP": False,
        "si": 0,
        "ss": 0,
        "rp": "-1.25000000",
        "V": "EXPIRE_MAKER",
        "pm": "NONE",
        "gtd": 0,
        "er": "0",
    },
}

DOC_TRADE_LITE: Frame = {
    "e": "TRADE_LITE",
    "E": 1721895408092,
    "T": 1721895408214,
    "s": "BTCUSDT",
    "q": "0.001",
    "p": "0",
    "m": False,
    "c": "z8hcUoOsqEdKMeKPSABslD",
    "S": "BUY",
    "L": "64089.20",
    "l": "0.040",
    "t": 109100866,
    "i": 8886774,
}

DOC_ALGO_UPDATE: Frame = {
    "e": "ALGO_UPDATE",
    "T": 1750515742297,
    "E": 1750515742303,
    "o": {
        "caid": "Q5xaq5EGKgXXa0fD7fs0Ip",
        "aid": 2148719,
        "at": "CONDITIONAL",
        "o": "TAKE_PROFIT",
        "s": "BNBUSDT",
        "S": "SELL",
        "ps": "BOTH",
        "f": "GTC",
        "q": "0.01",
        "X": "CANCELED",
        "ai": "",
        "ap": "0.00000",
        "aq": "0.00000",
        "act": "0",
        "tp": "750",
        "p": "750",
        "V": "EXPIRE_MAKER",
        "wt": "CONTRACT_PRICE",
        "pm": "NONE",
        "cp": False,
        "pP": False,
        "R": False,
        "tt": 0,
        "gtd": 0,
        "rm": "Reduce Only reject",
    },
}

DOC_ACCOUNT_UPDATE: Frame = {
    "e": "ACCOUNT_UPDATE",
    "E": 1564745798939,
    "T": 1564745798938,
    "a": {
        "m": "ORDER",
        "B": [
            {"a": "USDT", "wb": "122624.12345678", "cw": "100.12345678", "bc": "50.12345678"},
            {"a": "BUSD", "wb": "1.00000000", "cw": "0.00000000", "bc": "-49.12345678"},
        ],
        "P": [
            {
                "s": "BTCUSDT",
                "pa": "0",
                "ep": "0.00000",
                "bep": "0",
                "cr": "200",
                "up": "0",
                "mt": "isolated",
                "iw": "0.00000000",
                "ps": "BOTH",
            },
            {
                "s": "BTCUSDT",
                "pa": "20",
                "ep": "6563.66500",
                "bep": "6563.6",
                "cr": "0",
                "up": "2850.21200",
                "mt": "isolated",
                "iw": "13200.70726908",
                "ps": "LONG",
            },
            {
                "s": "BTCUSDT",
                "pa": "-10",
                "ep": "6563.86000",
                "bep": "6563.6",
                "cr": "-45.04000000",
                "up": "-1423.15600",
                "mt": "isolated",
                "iw": "6570.42511771",
                "ps": "SHORT",
            },
        ],
    },
}

DOC_FUNDING_FEE: Frame = {
    "e": "ACCOUNT_UPDATE",
    "E": 1754500000123,
    "T": 1754500000120,
    "a": {
        "m": "FUNDING_FEE",
        "S": "ETHUSDT",
        "B": [{"a": "USDT", "wb": "1000.50000000", "cw": "1000.50000000", "bc": "0"}],
    },
}

DOC_MARGIN_CALL: Frame = {
    "e": "MARGIN_CALL",
    "E": 1587727187525,
    "cw": "3.16812045",
    "p": [
        {
            "s": "ETHUSDT",
            "ps": "LONG",
            "pa": "1.327",
            "mt": "CROSSED",
            "iw": "0",
            "mp": "187.17127",
            "up": "-1.166074",
            "mm": "1.614445",
        }
    ],
}

DOC_LEVERAGE: Frame = {
    "e": "ACCOUNT_CONFIG_UPDATE",
    "E": 1611646737479,
    "T": 1611646737476,
    "ac": {"s": "BTCUSDT", "l": 25},
}

DOC_MULTI_ASSETS: Frame = {
    "e": "ACCOUNT_CONFIG_UPDATE",
    "E": 1611646737479,
    "T": 1611646737476,
    "ai": {"j": True},
}

DOC_LISTEN_KEY_EXPIRED: Frame = {
    "e": "listenKeyExpired",
    "E": "1736996475556",
    "listenKey": LISTEN_KEY,
}

ALL_DOC_FRAMES: dict[str, Frame] = {
    "order-new": DOC_ORDER_NEW,
    "order-fill": DOC_ORDER_FILL,
    "trade-lite": DOC_TRADE_LITE,
    "algo": DOC_ALGO_UPDATE,
    "account": DOC_ACCOUNT_UPDATE,
    "funding": DOC_FUNDING_FEE,
    "margin-call": DOC_MARGIN_CALL,
    "leverage": DOC_LEVERAGE,
    "multi-assets": DOC_MULTI_ASSETS,
    "listen-key-expired": DOC_LISTEN_KEY_EXPIRED,
}


def altered(frame: Frame, path: tuple[str | int, ...], value: object) -> Frame:
    """A deep copy of ``frame`` with the field at ``path`` set (or removed, for ``DROP``)."""
    out = copy.deepcopy(frame)
    target: Any = out
    for key in path[:-1]:
        target = target[key]
    if value is DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


DROP = object()


# -- frames the simulated exchange emits ------------------------------------------------

ZERO = Decimal(0)
TICK = Decimal("0.10")
STEP = Decimal("0.001")


def sim_order(**changes: Any) -> SimOrder:
    fields: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "order_id": 4082713652,
        "client_order_id": "trio-7f3a-0001",
        "side": OrderSide.BUY,
        "order_type": OrderType.LIMIT,
        "orig_type": OrderType.LIMIT,
        "time_in_force": TimeInForce.GTC,
        "price": Decimal("61250.1"),
        "orig_qty": Decimal("0.005"),
        "position_side": PositionSide.BOTH,
        "time": 1763712000123,
        "update_time": 1763712000123,
        "tick": TICK,
        "step": STEP,
    }
    fields.update(changes)
    return SimOrder(**fields)


def sim_fill(qty: str, trade_id: int, *, maker: bool = True) -> Execution:
    return Execution(
        trade_id=trade_id,
        symbol="BTCUSDT",
        order_id=4082713652,
        client_order_id="trio-7f3a-0001",
        side=OrderSide.BUY,
        position_side=PositionSide.BOTH,
        price=Decimal("61250.1"),
        qty=Decimal(qty),
        commission=Decimal("0.02450004"),
        commission_asset="USDT",
        realized_pnl=Decimal(0),
        maker=maker,
        time=1763712004567,
        tick=TICK,
        step=STEP,
    )


def sim_frames() -> dict[str, Frame]:
    """ORDER_TRADE_UPDATE frames for one order's life, exactly as OrderUpdate.of builds them."""
    order = sim_order()
    frames = {"new": OrderUpdate.of(order, "NEW", 1763712000123).to_wire()}
    order.executed_qty = Decimal("0.002")
    order.cum_quote = Decimal("122.5002")
    order.status = OrderStatus.PARTIALLY_FILLED
    frames["partial"] = OrderUpdate.of(
        order, "TRADE", 1763712004567, fill=sim_fill("0.002", 9001)
    ).to_wire()
    order.price = Decimal("61200.0")
    frames["amended"] = OrderUpdate.of(order, "AMENDMENT", 1763712005000).to_wire()
    order.executed_qty = Decimal("0.005")
    order.cum_quote = Decimal("306.2505")
    order.status = OrderStatus.FILLED
    frames["filled"] = OrderUpdate.of(
        order, "TRADE", 1763712006000, fill=sim_fill("0.003", 9002)
    ).to_wire()
    canceled = sim_order(order_id=7, client_order_id="trio-7f3a-0002", status=OrderStatus.CANCELED)
    frames["canceled"] = OrderUpdate.of(canceled, "CANCELED", 1763712007000).to_wire()
    expired = sim_order(
        order_id=8,
        client_order_id="trio-7f3a-0003",
        time_in_force=TimeInForce.GTD,
        good_till_date=1763715600000,
        status=OrderStatus.EXPIRED,
        expiry_reason=6,
    )
    frames["expired-gtd"] = OrderUpdate.of(expired, "EXPIRED", 1763715600000).to_wire()
    return frames


def sim_algo_frame(status: str, actual_order_id: int | None, reason: str = "") -> Frame:
    cmd = NewAlgoOrder(
        symbol="BTCUSDT",
        side=OrderSide.SELL,
        order_type=OrderType.STOP_MARKET,
        quantity=Decimal("0.005"),
        price=None,
        trigger_price=Decimal(60000),
        time_in_force=TimeInForce.GTC,
        position_side=None,
        working_type=WorkingType.MARK_PRICE,
        reduce_only=True,
        close_position=False,
        price_protect=False,
        activate_price=None,
        callback_rate=None,
        client_algo_id="trio-algo-0001",
    )
    algo = SimAlgoOrder(
        algo_id=3001,
        client_algo_id="trio-algo-0001",
        cmd=cmd,
        position_side=PositionSide.BOTH,
        status=status,
        actual_order_id=actual_order_id,
        actual_price=Decimal("59990.0") if actual_order_id else Decimal(0),
        create_time=1763712000000,
        update_time=1763712009000,
        trigger_time=1763712009000 if actual_order_id else 0,
        tick=TICK,
        step=STEP,
    )
    return SimAlgoUpdate.of(algo, 1763712009000, reason).to_wire()


def parse_frame(frame: Frame) -> UserEvent:
    """Parse through the text path, as the stream task receives frames."""
    return parse_user_event(json.dumps(frame))


# -- happy paths ---------------------------------------------------------------------------


class TestOrderTradeUpdate:
    """ORDER_TRADE_UPDATE frames parse into an OrderTradeUpdate with every engine field."""

    def test_doc_example_new(self) -> None:
        event = parse_frame(DOC_ORDER_NEW)
        assert isinstance(event, OrderTradeUpdate)
        assert (event.event_time, event.transaction_time) == (1568879465651, 1568879465650)
        o = event.order
        assert o.symbol == Symbol("BTCUSDT")
        assert o.client_order_id == "TEST"
        assert o.side is OrderSide.SELL
        assert o.order_type is OrderType.TRAILING_STOP_MARKET
        assert o.orig_type is OrderType.TRAILING_STOP_MARKET
        assert o.time_in_force is TimeInForce.GTC
        assert (o.orig_qty, o.price, o.avg_price, o.stop_price) == (
            Decimal("0.001"),
            ZERO,
            ZERO,
            Decimal("7103.04"),
        )
        assert o.execution_type is ExecutionType.NEW
        assert o.status is OrderStatus.NEW
        assert o.order_id == VenueOrderId(8886774)
        assert (o.last_filled_qty, o.cumulative_filled_qty, o.last_filled_price) == (ZERO,) * 3
        assert (o.commission_asset, o.commission) == ("USDT", ZERO)
        assert (o.trade_time, o.trade_id) == (1568879465650, 0)
        assert (o.maker, o.reduce_only, o.close_position) == (False, False, False)
        assert o.position_side is PositionSide.LONG
        assert (o.realized_profit, o.expiry_reason, o.good_till_date) == (ZERO, 0, 0)
        assert not o.is_trade
        assert not o.is_liquidation

    def test_doc_shaped_fill(self) -> None:
        event = parse_frame(DOC_ORDER_FILL)
        assert isinstance(event, OrderTradeUpdate)
        o = event.order
        assert o.is_trade
        assert o.execution_type is ExecutionType.TRADE
        assert o.status is OrderStatus.PARTIALLY_FILLED
        assert o.last_filled_qty == o.cumulative_filled_qty == Decimal("0.002")
        assert o.last_filled_price == Decimal("61250.10")
        assert o.commission == Decimal("-0.00612501")
        assert o.realized_profit == Decimal("-1.25000000")
        assert o.maker is True
        assert o.trade_id == 9001
        assert o.last_quote == Decimal("122.50020")
        assert o.cum_quote == Decimal("122.50020")
        assert o.matches(ClientOrderId("trio-7f3a-0001"))
        assert not o.matches(ClientOrderId("trio-7f3a-0002"))

    def test_numbers_stay_exact(self) -> None:
        frame = altered(DOC_ORDER_FILL, ("o", "L"), "61250.123456789012345678901234567890")
        event = parse_frame(frame)
        assert isinstance(event, OrderTradeUpdate)
        assert str(event.order.last_filled_price) == "61250.123456789012345678901234567890"

    @pytest.mark.parametrize("name", list(sim_frames()))
    def test_sim_frames_parse(self, name: str) -> None:
        """Everything the simulated exchange emits parses, and agrees with its source."""
        frame = sim_frames()[name]
        event = parse_frame(frame)
        assert isinstance(event, OrderTradeUpdate)
        o = event.order
        raw = frame["o"]
        assert event.event_time == frame["E"]
        assert o.execution_type.value == raw["x"]
        assert o.status.value == raw["X"]
        assert o.order_id.value == raw["i"]
        assert o.cumulative_filled_qty == Decimal(raw["z"])
        assert o.is_trade == (raw["x"] == "TRADE")
        assert (o.commission is None) == ("n" not in raw)

    def test_sim_fill_sequence(self) -> None:
        frames = sim_frames()
        partial, filled = parse_frame(frames["partial"]), parse_frame(frames["filled"])
        assert isinstance(partial, OrderTradeUpdate)
        assert isinstance(filled, OrderTradeUpdate)
        assert partial.order.last_filled_qty + filled.order.last_filled_qty == Decimal("0.005")
        assert filled.order.status is OrderStatus.FILLED
        assert filled.order.status.is_terminal
        assert filled.order.cum_quote == Decimal("306.2505")
        assert partial.order.commission_asset == "USDT"
        assert partial.order.commission == Decimal("0.02450004")

    def test_sim_expiry_reason_and_gtd(self) -> None:
        event = parse_frame(sim_frames()["expired-gtd"])
        assert isinstance(event, OrderTradeUpdate)
        assert event.order.expiry_reason == 6
        assert event.order.good_till_date == 1763715600000
        assert event.order.time_in_force is TimeInForce.GTD

    def test_amendment(self) -> None:
        event = parse_frame(sim_frames()["amended"])
        assert isinstance(event, OrderTradeUpdate)
        assert event.order.execution_type is ExecutionType.AMENDMENT
        assert event.order.price == Decimal("61200.00")

    @pytest.mark.parametrize(
        ("client_id", "order_type", "x", "status", "expected_status"),
        [
            ("autoclose-1568879465651", "LIQUIDATION", "CALCULATED", "FILLED", OrderStatus.FILLED),
            ("autoclose-1568879465651", "LIQUIDATION", "NEW", "NEW_INSURANCE", OrderStatus.NEW),
            ("adl_autoclose", "MARKET", "NEW", "NEW_ADL", OrderStatus.NEW),
            ("adl_autoclose", "MARKET", "TRADE", "FILLED", OrderStatus.FILLED),
            ("settlement_autoclose-42", "MARKET", "TRADE", "FILLED", OrderStatus.FILLED),
        ],
        ids=["liquidation-fill", "liquidation-new", "adl-new", "adl-fill", "settlement"],
    )
    def test_exchange_placed_orders(
        self,
        client_id: str,
        order_type: str,
        x: str,
        status: str,
        expected_status: OrderStatus,
    ) -> None:
        """Row 43: liquidation, ADL and settlement orders parse and say so."""
        frame = copy.deepcopy(DOC_ORDER_FILL)
        frame["o"].update(
            {"c": client_id, "o": order_type, "ot": order_type, "x": x, "X": status, "f": "IOC"}
        )
        event = parse_frame(frame)
        assert isinstance(event, OrderTradeUpdate)
        assert event.order.is_liquidation
        assert event.order.status is expected_status
        assert event.order.is_trade == (x in ("TRADE", "CALCULATED"))

    def test_liquidation_order_type_alone_is_a_liquidation(self) -> None:
        frame = altered(DOC_ORDER_FILL, ("o", "o"), "LIQUIDATION")
        event = parse_frame(frame)
        assert isinstance(event, OrderTradeUpdate)
        assert event.order.is_liquidation

    def test_unlisted_time_in_force_does_not_drop_the_fill(self) -> None:
        """GTE_GTC is real (close-all orders); a label must not cost a fill."""
        event = parse_frame(altered(DOC_ORDER_FILL, ("o", "f"), "GTE_GTC"))
        assert isinstance(event, OrderTradeUpdate)
        assert event.order.time_in_force is None
        assert event.order.last_filled_qty == Decimal("0.002")

    def test_no_commission_fields(self) -> None:
        frame = altered(altered(DOC_ORDER_NEW, ("o", "N"), DROP), ("o", "n"), DROP)
        event = parse_frame(frame)
        assert isinstance(event, OrderTradeUpdate)
        assert (event.order.commission_asset, event.order.commission) == (None, None)

    def test_optional_fields_default(self) -> None:
        frame = copy.deepcopy(DOC_ORDER_FILL)
        for key in ("ot", "sp", "cp", "er", "gtd", "rp", "b", "a", "wt", "V", "pm", "si", "ss"):
            del frame["o"][key]
        event = parse_frame(frame)
        assert isinstance(event, OrderTradeUpdate)
        o = event.order
        assert o.orig_type is OrderType.LIMIT
        assert (o.stop_price, o.realized_profit) == (ZERO, ZERO)
        assert (o.expiry_reason, o.good_till_date) == (0, 0)
        assert o.close_position is False

    @pytest.mark.parametrize("er", ["0", 0, "9"])
    def test_expiry_reason_as_text_or_int(self, er: object) -> None:
        event = parse_frame(altered(DOC_ORDER_FILL, ("o", "er"), er))
        assert isinstance(event, OrderTradeUpdate)
        assert event.order.expiry_reason == int(str(er))

    def test_close_position_may_report_zero_quantity(self) -> None:
        frame = copy.deepcopy(DOC_ORDER_FILL)
        frame["o"].update({"q": "0", "cp": True})
        event = parse_frame(frame)
        assert isinstance(event, OrderTradeUpdate)
        assert event.order.cumulative_filled_qty == Decimal("0.002")

    def test_full_fill_equal_to_quantity(self) -> None:
        frame = copy.deepcopy(DOC_ORDER_FILL)
        frame["o"].update({"z": "0.005", "l": "0.003", "X": "FILLED"})
        event = parse_frame(frame)
        assert isinstance(event, OrderTradeUpdate)
        assert event.order.cumulative_filled_qty == event.order.orig_qty

    def test_events_are_frozen_and_hashable(self) -> None:
        event = parse_frame(DOC_ORDER_FILL)
        assert event == parse_frame(DOC_ORDER_FILL)
        assert hash(event) == hash(parse_frame(DOC_ORDER_FILL))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            event.event_time = 0  # type: ignore[misc]


class TestOtherEvents:
    """Every other event type of binance-fapi.md 8.2 parses from realistic frames."""

    def test_trade_lite(self) -> None:
        event = parse_frame(DOC_TRADE_LITE)
        assert event == TradeLite(
            event_time=1721895408092,
            transaction_time=1721895408214,
            symbol=Symbol("BTCUSDT"),
            client_order_id="z8hcUoOsqEdKMeKPSABslD",
            side=OrderSide.BUY,
            order_id=VenueOrderId(8886774),
            trade_id=109100866,
            orig_qty=Decimal("0.001"),
            price=Decimal(0),
            last_filled_qty=Decimal("0.040"),
            last_filled_price=Decimal("64089.20"),
            maker=False,
        )

    def test_algo_update_doc_example(self) -> None:
        event = parse_frame(DOC_ALGO_UPDATE)
        assert isinstance(event, AlgoUpdate)
        assert (event.event_time, event.transaction_time) == (1750515742303, 1750515742297)
        o = event.order
        assert (o.client_algo_id, o.algo_id, o.algo_type) == (
            "Q5xaq5EGKgXXa0fD7fs0Ip",
            2148719,
            "CONDITIONAL",
        )
        assert o.order_type is OrderType.TAKE_PROFIT
        assert (o.symbol, o.side, o.position_side) == (
            Symbol("BNBUSDT"),
            OrderSide.SELL,
            PositionSide.BOTH,
        )
        assert (o.algo_status, o.status) == ("CANCELED", OrderStatus.CANCELED)
        assert o.actual_order_id is None
        assert not o.is_triggered
        assert (o.quantity, o.trigger_price, o.price) == (
            Decimal("0.01"),
            Decimal(750),
            Decimal(750),
        )
        assert o.reason == "Reduce Only reject"

    @pytest.mark.parametrize(
        ("status", "actual", "expected"),
        [
            ("NEW", None, OrderStatus.NEW),
            ("TRIGGERED", 4082713999, OrderStatus.NEW),
            ("FINISHED", 4082713999, OrderStatus.FILLED),
            ("REJECTED", None, OrderStatus.REJECTED),
            ("EXPIRED", None, OrderStatus.EXPIRED),
        ],
    )
    def test_algo_update_from_sim(
        self, status: str, actual: int | None, expected: OrderStatus
    ) -> None:
        event = parse_frame(sim_algo_frame(status, actual))
        assert isinstance(event, AlgoUpdate)
        o = event.order
        assert o.status is expected
        assert o.algo_status == status
        assert o.actual_order_id == (None if actual is None else VenueOrderId(actual))
        assert o.reduce_only is True
        assert o.trigger_price == Decimal("60000.0")
        assert o.reason is None

    def test_algo_actual_order_id_as_int(self) -> None:
        event = parse_frame(altered(DOC_ALGO_UPDATE, ("o", "ai"), 4082713999))
        assert isinstance(event, AlgoUpdate)
        assert event.order.actual_order_id == VenueOrderId(4082713999)

    def test_account_update(self) -> None:
        event = parse_frame(DOC_ACCOUNT_UPDATE)
        assert isinstance(event, AccountUpdate)
        assert event.reason == "ORDER"
        assert event.funding_symbol is None
        assert event.balances[1] == BalanceChange(
            asset="BUSD",
            wallet_balance=Decimal("1.00000000"),
            cross_wallet_balance=Decimal("0.00000000"),
            balance_change=Decimal("-49.12345678"),
        )
        assert event.positions[2] == PositionChange(
            symbol=Symbol("BTCUSDT"),
            position_side=PositionSide.SHORT,
            amount=Decimal(-10),
            entry_price=Decimal("6563.86000"),
            break_even_price=Decimal("6563.6"),
            accumulated_realized=Decimal("-45.04000000"),
            unrealized_pnl=Decimal("-1423.15600"),
            margin_type=MarginType.ISOLATED,
            isolated_wallet=Decimal("6570.42511771"),
        )

    def test_funding_fee_without_positions(self) -> None:
        event = parse_frame(DOC_FUNDING_FEE)
        assert isinstance(event, AccountUpdate)
        assert event.reason == "FUNDING_FEE"
        assert event.funding_symbol == Symbol("ETHUSDT")
        assert event.positions == ()
        assert event.balances[0].wallet_balance == Decimal("1000.5")

    def test_unlisted_account_update_reason_is_kept(self) -> None:
        event = parse_frame(altered(DOC_ACCOUNT_UPDATE, ("a", "m"), "STRATEGY_UMFUTURES_TRANSFER"))
        assert isinstance(event, AccountUpdate)
        assert event.reason == "STRATEGY_UMFUTURES_TRANSFER"

    def test_margin_call(self) -> None:
        event = parse_frame(DOC_MARGIN_CALL)
        assert isinstance(event, MarginCall)
        assert event.event_time == 1587727187525
        assert event.cross_wallet_balance == Decimal("3.16812045")
        (position,) = event.positions
        assert position.margin_type is MarginType.CROSSED
        assert position.amount == Decimal("1.327")
        assert position.unrealized_pnl == Decimal("-1.166074")
        assert position.maintenance_margin == Decimal("1.614445")

    def test_isolated_margin_call_has_no_cross_wallet(self) -> None:
        event = parse_frame(altered(DOC_MARGIN_CALL, ("cw",), DROP))
        assert isinstance(event, MarginCall)
        assert event.cross_wallet_balance is None

    def test_leverage_change(self) -> None:
        assert parse_frame(DOC_LEVERAGE) == AccountConfigUpdate(
            event_time=1611646737479,
            transaction_time=1611646737476,
            symbol=Symbol("BTCUSDT"),
            leverage=25,
            multi_assets_mode=None,
        )

    def test_multi_assets_change(self) -> None:
        assert parse_frame(DOC_MULTI_ASSETS) == AccountConfigUpdate(
            event_time=1611646737479,
            transaction_time=1611646737476,
            symbol=None,
            leverage=None,
            multi_assets_mode=True,
        )

    @pytest.mark.parametrize("event_time", ["1736996475556", 1736996475556])
    def test_listen_key_expired(self, event_time: object) -> None:
        event = parse_frame(altered(DOC_LISTEN_KEY_EXPIRED, ("E",), event_time))
        assert isinstance(event, ListenKeyExpired)
        assert event.event_time == 1736996475556
        assert event.listen_key == Secret(LISTEN_KEY)
        assert event.concerns(LISTEN_KEY)
        assert event.concerns(Secret(LISTEN_KEY))
        assert not event.concerns("another-key")

    def test_listen_key_expired_without_key_concerns_the_current_one(self) -> None:
        event = parse_frame(altered(DOC_LISTEN_KEY_EXPIRED, ("listenKey",), DROP))
        assert isinstance(event, ListenKeyExpired)
        assert event.listen_key is None
        assert event.concerns("any-key")


class TestInputForms:
    """Text, bytes, decoded objects and combined-stream envelopes all parse the same."""

    @pytest.mark.parametrize(
        "encode",
        [
            json.dumps,
            lambda frame: json.dumps(frame).encode(),
            lambda frame: frame,
            lambda frame: json.dumps({"stream": LISTEN_KEY, "data": frame}),
        ],
        ids=["str", "bytes", "mapping", "envelope"],
    )
    @pytest.mark.parametrize("name", list(ALL_DOC_FRAMES))
    def test_same_event(self, encode: Callable[[Frame], Any], name: str) -> None:
        frame = ALL_DOC_FRAMES[name]
        assert parse_user_event(encode(frame)) == parse_frame(frame)

    def test_envelope_stream_name_is_dropped(self) -> None:
        event = parse_user_event(json.dumps({"stream": LISTEN_KEY, "data": DOC_ORDER_FILL}))
        assert LISTEN_KEY not in repr(event)


class TestUnknownEvents:
    """Row 42: any other event type is an UnknownEvent, never an error."""

    @pytest.mark.parametrize(
        "frame",
        [
            {"e": "STRATEGY_UPDATE", "E": 1669356423908, "T": 1669356423908, "su": {}},
            {"e": "GRID_UPDATE", "E": 1669356423908, "T": 1669356423908, "gu": {"si": 1}},
            {"e": "CONDITIONAL_ORDER_TRIGGER_REJECT", "E": 1, "or": {"s": "X", "i": 1}},
            {"e": "SOMETHING_NEW_IN_2027", "E": 1, "whatever": [1, 2, {"x": None}]},
            {"e": "order_trade_update", "E": 1},
        ],
        ids=["strategy", "grid", "trigger-reject", "new", "wrong-case"],
    )
    def test_unknown(self, frame: Frame) -> None:
        event = parse_frame(frame)
        assert event == UnknownEvent(event_type=frame["e"], event_time=frame["E"])

    @pytest.mark.parametrize("event_time", [None, 1.5, True, -1, "soon", [1]])
    def test_unknown_with_bad_time_still_parses(self, event_time: object) -> None:
        event = parse_user_event({"e": "GRID_UPDATE", "E": event_time})
        assert event == UnknownEvent(event_type="GRID_UPDATE", event_time=None)

    def test_unknown_without_time(self) -> None:
        assert parse_user_event('{"e": "X"}') == UnknownEvent(event_type="X", event_time=None)


# -- malformed frames ---------------------------------------------------------------------

OVERLONG = "0." + "0" * 100 + "5"

#: (frame, event type, field) for one malformation each.
MALFORMED: list[Any] = [
    # the frame itself
    pytest.param("not json", "?", "frame", id="not-json"),
    pytest.param(b"\xff\xfe\x00garbage", "?", "frame", id="bad-bytes"),
    pytest.param("", "?", "frame", id="empty"),
    pytest.param("[1, 2]", "?", "frame", id="array"),
    pytest.param('"ORDER_TRADE_UPDATE"', "?", "frame", id="string"),
    pytest.param("42", "?", "frame", id="number"),
    pytest.param("null", "?", "frame", id="null"),
    pytest.param("[" * 100_000 + "]" * 100_000, "?", "frame", id="deep-nesting"),
    pytest.param('{"e": "MARGIN_CALL", "E": NaN, "p": []}', "?", "frame", id="nan-literal"),
    pytest.param(12345, "?", "frame", id="not-text"),
    pytest.param({"E": 1}, "?", "e", id="no-event-type"),
    pytest.param({"e": 7, "E": 1}, "?", "e", id="event-type-int"),
    pytest.param({"e": None, "E": 1}, "?", "e", id="event-type-null"),
    pytest.param({"stream": LISTEN_KEY, "data": [1]}, "?", "e", id="envelope-data-not-object"),
    # ORDER_TRADE_UPDATE
    pytest.param(altered(DOC_ORDER_FILL, ("o",), DROP), "ORDER_TRADE_UPDATE", "o", id="no-o"),
    pytest.param(altered(DOC_ORDER_FILL, ("o",), [1]), "ORDER_TRADE_UPDATE", "o", id="o-list"),
    pytest.param(altered(DOC_ORDER_FILL, ("E",), DROP), "ORDER_TRADE_UPDATE", "E", id="no-E"),
    pytest.param(altered(DOC_ORDER_FILL, ("E",), 1.5e12), "ORDER_TRADE_UPDATE", "E", id="E-float"),
    pytest.param(altered(DOC_ORDER_FILL, ("E",), -1), "ORDER_TRADE_UPDATE", "E", id="E-negative"),
    pytest.param(altered(DOC_ORDER_FILL, ("E",), True), "ORDER_TRADE_UPDATE", "E", id="E-bool"),
    pytest.param(altered(DOC_ORDER_FILL, ("T",), 2**63), "ORDER_TRADE_UPDATE", "T", id="T-huge"),
    pytest.param(altered(DOC_ORDER_FILL, ("o", "i"), DROP), "ORDER_TRADE_UPDATE", "o.i", id="no-i"),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "i"), "4082713652"), "ORDER_TRADE_UPDATE", "o.i", id="i-text"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "t"), -5), "ORDER_TRADE_UPDATE", "o.t", id="t-negative"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "q"), "1e-3"), "ORDER_TRADE_UPDATE", "o.q", id="q-exponent"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "q"), "-0.005"), "ORDER_TRADE_UPDATE", "o.q", id="q-negative"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "q"), 0.005), "ORDER_TRADE_UPDATE", "o.q", id="q-json-float"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "l"), "2E-3"), "ORDER_TRADE_UPDATE", "o.l", id="l-exponent"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "L"), "-61250.10"),
        "ORDER_TRADE_UPDATE",
        "o.L",
        id="L-negative",
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "ap"), "NaN"), "ORDER_TRADE_UPDATE", "o.ap", id="ap-nan"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "p"), OVERLONG), "ORDER_TRADE_UPDATE", "o.p", id="p-overlong"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "z"), "0.006"), "ORDER_TRADE_UPDATE", "o.z", id="z-above-q"
    ),
    pytest.param(
        altered(altered(DOC_ORDER_FILL, ("o", "q"), "0"), ("o", "cp"), "true"),
        "ORDER_TRADE_UPDATE",
        "o.cp",
        id="cp-text",
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "q"), "0"), "ORDER_TRADE_UPDATE", "o.z", id="z-above-zero-q"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "l"), "0.003"), "ORDER_TRADE_UPDATE", "o.l", id="l-above-z"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "n"), "1e-8"), "ORDER_TRADE_UPDATE", "o.n", id="n-exponent"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "n"), "--1"), "ORDER_TRADE_UPDATE", "o.n", id="n-double-minus"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "rp"), "+1"), "ORDER_TRADE_UPDATE", "o.rp", id="rp-plus"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "N"), 5), "ORDER_TRADE_UPDATE", "o.N", id="N-not-text"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "S"), "LONG"), "ORDER_TRADE_UPDATE", "o.S", id="bad-side"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "X"), "PENDING_NEW"),
        "ORDER_TRADE_UPDATE",
        "o.X",
        id="local-status",
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "x"), "FILL"), "ORDER_TRADE_UPDATE", "o.x", id="bad-exec-type"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "o"), "ICEBERG"),
        "ORDER_TRADE_UPDATE",
        "o.o",
        id="bad-order-type",
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "ps"), "BOTHS"),
        "ORDER_TRADE_UPDATE",
        "o.ps",
        id="bad-position-side",
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "m"), "false"), "ORDER_TRADE_UPDATE", "o.m", id="m-text"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "s"), "btcusdt"),
        "ORDER_TRADE_UPDATE",
        "o.s",
        id="symbol-case",
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "c"), ""), "ORDER_TRADE_UPDATE", "o.c", id="c-empty"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "er"), "x"), "ORDER_TRADE_UPDATE", "o.er", id="er-text"
    ),
    pytest.param(
        altered(DOC_ORDER_FILL, ("o", "f"), 1), "ORDER_TRADE_UPDATE", "o.f", id="f-not-text"
    ),
    # TRADE_LITE
    pytest.param(altered(DOC_TRADE_LITE, ("l",), "-1"), "TRADE_LITE", "l", id="lite-l-negative"),
    pytest.param(altered(DOC_TRADE_LITE, ("i",), None), "TRADE_LITE", "i", id="lite-i-null"),
    # ALGO_UPDATE
    pytest.param(
        altered(DOC_ALGO_UPDATE, ("o", "X"), "PAUSED"), "ALGO_UPDATE", "o.X", id="algo-status"
    ),
    pytest.param(
        altered(DOC_ALGO_UPDATE, ("o", "ai"), "abc"), "ALGO_UPDATE", "o.ai", id="algo-ai-text"
    ),
    pytest.param(
        altered(DOC_ALGO_UPDATE, ("o", "aid"), DROP), "ALGO_UPDATE", "o.aid", id="algo-no-aid"
    ),
    pytest.param(
        altered(DOC_ALGO_UPDATE, ("o", "tp"), "7.5e2"), "ALGO_UPDATE", "o.tp", id="algo-tp-exponent"
    ),
    # ACCOUNT_UPDATE
    pytest.param(altered(DOC_ACCOUNT_UPDATE, ("a",), DROP), "ACCOUNT_UPDATE", "a", id="acct-no-a"),
    pytest.param(
        altered(DOC_ACCOUNT_UPDATE, ("a", "m"), DROP), "ACCOUNT_UPDATE", "a.m", id="acct-no-reason"
    ),
    pytest.param(
        altered(DOC_ACCOUNT_UPDATE, ("a", "B"), {"a": "USDT"}),
        "ACCOUNT_UPDATE",
        "a.B",
        id="acct-B-object",
    ),
    pytest.param(
        altered(DOC_ACCOUNT_UPDATE, ("a", "B"), ["USDT"]),
        "ACCOUNT_UPDATE",
        "a.B[0]",
        id="acct-B-item-text",
    ),
    pytest.param(
        altered(DOC_ACCOUNT_UPDATE, ("a", "B", 1, "wb"), "1E+3"),
        "ACCOUNT_UPDATE",
        "a.B[1].wb",
        id="acct-wb-exponent",
    ),
    pytest.param(
        altered(DOC_ACCOUNT_UPDATE, ("a", "P", 2, "mt"), "portfolio"),
        "ACCOUNT_UPDATE",
        "a.P[2].mt",
        id="acct-margin-type",
    ),
    pytest.param(
        altered(DOC_ACCOUNT_UPDATE, ("a", "P", 0, "ep"), "-1"),
        "ACCOUNT_UPDATE",
        "a.P[0].ep",
        id="acct-entry-negative",
    ),
    # MARGIN_CALL
    pytest.param(
        altered(DOC_MARGIN_CALL, ("p", 0, "mm"), 1.6),
        "MARGIN_CALL",
        "p[0].mm",
        id="margin-mm-float",
    ),
    # ACCOUNT_CONFIG_UPDATE
    pytest.param(
        altered(DOC_LEVERAGE, ("ac", "l"), 0), "ACCOUNT_CONFIG_UPDATE", "ac.l", id="lev-0"
    ),
    pytest.param(
        altered(DOC_LEVERAGE, ("ac", "l"), "25x"), "ACCOUNT_CONFIG_UPDATE", "ac.l", id="lev-text"
    ),
    pytest.param(
        altered(DOC_MULTI_ASSETS, ("ai", "j"), 1), "ACCOUNT_CONFIG_UPDATE", "ai.j", id="multi-int"
    ),
    # listenKeyExpired: the key is in every one of these frames
    pytest.param(
        altered(DOC_LISTEN_KEY_EXPIRED, ("E",), 1.7e12), "listenKeyExpired", "E", id="lke-E-float"
    ),
    pytest.param(
        altered(DOC_LISTEN_KEY_EXPIRED, ("E",), DROP), "listenKeyExpired", "E", id="lke-no-E"
    ),
    pytest.param(
        altered(DOC_LISTEN_KEY_EXPIRED, ("E",), LISTEN_KEY),
        "listenKeyExpired",
        "E",
        id="lke-key-in-E",
    ),
    pytest.param(
        altered(DOC_LISTEN_KEY_EXPIRED, ("listenKey",), [LISTEN_KEY]),
        "listenKeyExpired",
        "listenKey",
        id="lke-key-list",
    ),
]


class TestMalformed:
    """Each malformation raises MalformedEvent naming the event type and field, nothing more."""

    @pytest.mark.parametrize(("frame", "event_type", "field"), MALFORMED)
    def test_raises(self, frame: Any, event_type: str, field: str) -> None:
        with pytest.raises(MalformedEvent) as info:
            parse_user_event(frame)
        error = info.value
        assert (error.event_type, error.field) == (event_type, field)
        assert isinstance(error, EngineError)
        assert str(error) == f"malformed {event_type} event: {field}: {error.reason}"
        assert len(str(error)) < 120

    @pytest.mark.parametrize(("frame", "event_type", "field"), MALFORMED)
    def test_nothing_from_the_frame_leaks(self, frame: Any, event_type: str, field: str) -> None:
        """Row 64: message, repr, args and the printed traceback hold no frame value."""
        with pytest.raises(MalformedEvent) as info:
            parse_user_event(frame)
        error = info.value
        printed = "".join(traceback.format_exception(error))
        for text in (str(error), repr(error), repr(error.args), printed):
            assert LISTEN_KEY not in text
            assert LISTEN_KEY[:12] not in text
            assert "00000000005" not in text  # the overlong amount
            assert "1e-3" not in text
            assert "61250" not in text
        assert error.__context__ is None
        assert error.__cause__ is None


class TestListenKeyIsSecret:
    """Row 64: the listen key never appears in any printed form of an event."""

    def test_repr_and_str(self) -> None:
        event = parse_frame(DOC_LISTEN_KEY_EXPIRED)
        for text in (repr(event), str(event), f"{event}", f"{event!r}"):
            assert LISTEN_KEY not in text
            assert LISTEN_KEY[:12] not in text
        assert "Secret('***')" in repr(event)

    def test_asdict(self) -> None:
        event = parse_frame(DOC_LISTEN_KEY_EXPIRED)
        assert LISTEN_KEY not in repr(attrs.asdict(event))
        assert LISTEN_KEY not in repr(attrs.astuple(event))

    def test_from_envelope(self) -> None:
        event = parse_user_event(json.dumps({"stream": LISTEN_KEY, "data": DOC_LISTEN_KEY_EXPIRED}))
        assert isinstance(event, ListenKeyExpired)
        assert LISTEN_KEY not in repr(event)

    def test_reveal_gives_the_key_to_whoever_asks_on_purpose(self) -> None:
        event = parse_frame(DOC_LISTEN_KEY_EXPIRED)
        assert isinstance(event, ListenKeyExpired)
        assert event.listen_key is not None
        assert event.listen_key.reveal() == LISTEN_KEY


# -- properties ----------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
EVENT_TYPES = [
    "ORDER_TRADE_UPDATE",
    "TRADE_LITE",
    "ALGO_UPDATE",
    "ACCOUNT_UPDATE",
    "MARGIN_CALL",
    "ACCOUNT_CONFIG_UPDATE",
    "listenKeyExpired",
    "GRID_UPDATE",
]
#: Every key any event uses, so random objects hit real fields often.
EVENT_KEYS = sorted(
    {
        *"eETosSqpcLltiNnmRfxXzapPBj",
        *("ap", "sp", "rp", "er", "ot", "ps", "cp", "gtd", "caid", "aid", "at", "ai", "aq"),
        *("tp", "tt", "rm", "wb", "cw", "bc", "pa", "ep", "bep", "cr", "up", "mt", "iw"),
        *("mp", "mm", "ac", "listenKey", "data", "stream"),
    }
)
event_like = st.recursive(
    st.fixed_dictionaries({"e": st.sampled_from(EVENT_TYPES)})
    | json_scalars
    | st.sampled_from(["0", "1.5", "-2", "BTCUSDT", "BUY", "NEW", "TRADE", "LIMIT", "BOTH"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(EVENT_KEYS), children, max_size=8)
    ),
    max_leaves=30,
)


def flat_paths(value: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into nested dicts and lists."""
    paths: list[tuple[Any, ...]] = []
    items: list[tuple[Any, object]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, child in items:
        paths.append((*prefix, key))
        paths.extend(flat_paths(child, (*prefix, key)))
    return paths


def outcome(frame: object) -> UserEvent | MalformedEvent:
    try:
        return parse_user_event(frame)  # type: ignore[arg-type]
    except MalformedEvent as error:
        return error


def assert_event_or_malformed(frame: object) -> None:
    result = outcome(frame)
    if isinstance(result, MalformedEvent):
        assert result.__context__ is None
    else:
        assert isinstance(result, UserEvent)


class TestNeverAnythingElse:
    """Whatever arrives, parse_user_event returns an event or raises MalformedEvent."""

    @given(value=json_values)
    @settings(max_examples=300)
    def test_any_json_value(self, value: object) -> None:
        assert_event_or_malformed(value)
        assert_event_or_malformed(json.dumps(value))
        assert_event_or_malformed(json.dumps(value).encode())

    @given(value=event_like, event_type=st.sampled_from(EVENT_TYPES))
    @settings(max_examples=500)
    def test_event_shaped_objects(self, value: object, event_type: str) -> None:
        if isinstance(value, dict):
            value = {**value, "e": event_type}
        assert_event_or_malformed(value)

    @given(text=st.text(max_size=200), raw=st.binary(max_size=200))
    def test_any_text_or_bytes(self, text: str, raw: bytes) -> None:
        assert_event_or_malformed(text)
        assert_event_or_malformed(raw)

    @given(data=st.data())
    @settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
    def test_one_mutated_field_of_a_real_frame(self, data: st.DataObject) -> None:
        frames = [*ALL_DOC_FRAMES.values(), *sim_frames().values(), sim_algo_frame("NEW", None)]
        frame = copy.deepcopy(data.draw(st.sampled_from(frames)))
        path = data.draw(st.sampled_from(flat_paths(frame)))
        parent: Any = frame
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(json_values)
        assert_event_or_malformed(frame)
        assert_event_or_malformed(json.dumps(frame))

    @given(
        orig=st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False),
        cumulative=st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False),
    )
    def test_cumulative_fill_never_exceeds_quantity(
        self, orig: Decimal, cumulative: Decimal
    ) -> None:
        frame = copy.deepcopy(DOC_ORDER_FILL)
        frame["o"].update({"q": f"{orig:f}", "z": f"{cumulative:f}", "l": "0"})
        if cumulative > orig:
            with pytest.raises(MalformedEvent, match=r"o\.z"):
                parse_frame(frame)
        else:
            event = parse_frame(frame)
            assert isinstance(event, OrderTradeUpdate)
            assert (event.order.orig_qty, event.order.cumulative_filled_qty) == (orig, cumulative)
