"""What the sim's user-data stream sends, checked against its own REST answers.

An order placed through the sim's transport produces ORDER_TRADE_UPDATE NEW,
then per fill ORDER_TRADE_UPDATE TRADE followed by ACCOUNT_UPDATE (reason
ORDER); funding and algo orders have their own events (binance-fapi.md 8.2-8.4).
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
import trio

from trio_fapi.protocol.stream_transport import StreamClosed
from trio_fapi.sim import SIM_STREAM_URL, SimHandle, open_sim

from .conftest import SimClient, stream_config
from .user_stream_support import (
    MARKET_EVENTS,
    kinds,
    limit,
    market,
    new_key,
    receive,
    receive_all,
    url,
)


def only(rows: object) -> dict[str, Any]:
    assert isinstance(rows, list)
    assert len(rows) == 1
    row = rows[0]
    assert isinstance(row, dict)
    return row


class TestUrls:
    """The connector takes Binance's three URL forms on any host, and nothing else."""

    @pytest.mark.parametrize(
        "form",
        [
            "ws://sim.invalid/ws/{}",
            "wss://fstream.example/private/ws/{}",
            "ws://x/private/ws?listenKey={}",
        ],
        ids=["legacy", "private", "query"],
    )
    async def test_each_form_receives_events(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock, form: str
    ) -> None:
        key = await new_key(stream_client)
        async with stream_client.sim.stream_connector.connect(form.format(key)) as conn:
            await market(stream_client, "BUY", "0.010", "url-form")
            assert kinds(await receive_all(conn)) == [
                "ORDER_TRADE_UPDATE:NEW",
                "ORDER_TRADE_UPDATE:TRADE",
                "ACCOUNT_UPDATE",
            ]

    @pytest.mark.parametrize(
        "bad",
        [
            "ws://h/ws/",
            "ws://h/stream/{}",
            "http://h/ws/{}",
            "ws://h/private/ws?other={}",
            "ws://h/ws/{}/x",
        ],
    )
    async def test_other_urls_are_refused_at_connect(
        self, stream_client: SimClient, bad: str
    ) -> None:
        key = await new_key(stream_client)
        with pytest.raises(StreamClosed):
            async with stream_client.sim.stream_connector.connect(bad.format(key)):
                pass

    async def test_an_unknown_key_is_refused_at_connect(self, stream_client: SimClient) -> None:
        await new_key(stream_client)
        with pytest.raises(StreamClosed, match="unknown or expired listen key"):
            async with stream_client.sim.stream_connector.connect(url(stream_client, "nope")):
                pass

    async def test_the_stream_base_url_is_published(self, stream_sim: SimHandle) -> None:
        assert stream_sim.stream_url == SIM_STREAM_URL == "ws://sim.invalid"


class TestOrderEvents:
    """Order updates carry the ledger's numbers; the account update matches positionRisk."""

    async def test_market_order_new_then_trade_then_account_update(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        key = await new_key(stream_client)
        async with stream_client.sim.stream_connector.connect(url(stream_client, key)) as conn:
            placed = await market(stream_client, "BUY", "0.010", "mkt-1")
            new, trade, account = await receive(conn, 3)
            trades = (
                await stream_client.signed("GET", "/fapi/v1/userTrades", [("symbol", "BTCUSDT")])
            ).json()
            risk = (
                await stream_client.signed("GET", "/fapi/v3/positionRisk", [("symbol", "BTCUSDT")])
            ).json()
            balance = only((await stream_client.signed("GET", "/fapi/v3/balance")).json())
        fill = only(trades)
        assert new["e"] == "ORDER_TRADE_UPDATE"
        assert (new["o"]["x"], new["o"]["X"], new["o"]["c"]) == ("NEW", "NEW", "mkt-1")
        assert (new["o"]["z"], new["o"]["l"], new["o"]["t"]) == ("0.000", "0.000", 0)
        assert "n" not in new["o"]
        o = trade["o"]
        assert (o["x"], o["X"], o["i"]) == ("TRADE", "FILLED", placed["orderId"])
        assert (o["l"], o["z"], o["L"], o["t"]) == ("0.010", "0.010", fill["price"], fill["id"])
        assert (o["n"], o["N"]) == (fill["commission"], "USDT")
        assert o["n"] == "0.30000050"  # 60000.10 * 0.010 * taker 0.0005
        assert (o["ap"], o["m"]) == (placed["avgPrice"], False)
        assert set(trade) == {"e", "E", "T", "o"}
        assert account["e"] == "ACCOUNT_UPDATE"
        assert account["T"] == trade["T"] == fill["time"]
        a = account["a"]
        assert a["m"] == "ORDER"
        assert a["B"] == [
            {
                "a": "USDT",
                "wb": balance["balance"],
                "cw": balance["crossWalletBalance"],
                "bc": "0.00000000",
            }
        ]
        (position,) = a["P"]
        row = only(risk)
        assert {
            "s": position["s"],
            "pa": position["pa"],
            "ep": position["ep"],
            "bep": position["bep"],
            "up": position["up"],
            "iw": position["iw"],
            "ps": position["ps"],
        } == {
            "s": row["symbol"],
            "pa": row["positionAmt"],
            "ep": row["entryPrice"],
            "bep": row["breakEvenPrice"],
            "up": row["unRealizedProfit"],
            "iw": row["isolatedWallet"],
            "ps": row["positionSide"],
        }
        assert (position["pa"], position["mt"], position["cr"]) == ("0.010", "cross", "0.00000000")

    async def test_partial_fills_count_up_z_and_each_has_its_account_update(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        cfg = stream_config()
        thin = attrs.evolve(cfg.symbols[0], level_qty=Decimal("0.005"))
        async with (
            open_sim(attrs.evolve(cfg, symbols=(thin, *cfg.symbols[1:]))) as sim,
            httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
        ):
            client = SimClient(http, sim)
            key = await new_key(client)
            async with sim.stream_connector.connect(url(client, key)) as conn:
                await market(client, "BUY", "0.012", "walk")
                events = await receive_all(conn)
        assert kinds(events) == [
            "ORDER_TRADE_UPDATE:NEW",
            *["ORDER_TRADE_UPDATE:TRADE", "ACCOUNT_UPDATE"] * 3,
        ]
        trades = [e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"][1:]
        assert [(t["l"], t["z"], t["X"]) for t in trades] == [
            ("0.005", "0.005", "PARTIALLY_FILLED"),
            ("0.005", "0.010", "PARTIALLY_FILLED"),
            ("0.002", "0.012", "FILLED"),
        ]
        assert [t["L"] for t in trades] == ["60000.10", "60000.20", "60000.30"]
        assert len({t["t"] for t in trades}) == 3
        positions = [e["a"]["P"][0]["pa"] for e in events if e["e"] == "ACCOUNT_UPDATE"]
        assert positions == ["0.005", "0.010", "0.012"]  # the position after each fill

    async def test_event_time_strictly_increases_on_a_connection(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        key = await new_key(stream_client)
        async with stream_client.sim.stream_connector.connect(url(stream_client, key)) as conn:
            for i in range(5):
                await market(stream_client, "BUY" if i % 2 else "SELL", "0.010", f"e-{i}")
            events = await receive_all(conn)
        stamps = [e["E"] for e in events]
        assert len(stamps) == 15
        assert all(b > a for a, b in itertools.pairwise(stamps))

    async def test_a_resting_order_fills_as_maker_and_a_cancel_moves_no_account(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            await limit(stream_client, "BUY", "0.010", "59000.00", "rest-1")
            await limit(stream_client, "BUY", "0.010", "58000.00", "rest-2")
            sim.set_price("BTCUSDT", "58900.00")
            await stream_client.signed(
                "DELETE", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("origClientOrderId", "rest-2")]
            )
            events = await receive_all(conn)
        assert kinds(events) == [
            "ORDER_TRADE_UPDATE:NEW",
            "ORDER_TRADE_UPDATE:NEW",
            "ORDER_TRADE_UPDATE:TRADE",
            "ACCOUNT_UPDATE",
            "ORDER_TRADE_UPDATE:CANCELED",
        ]
        maker = events[2]["o"]
        assert (maker["c"], maker["m"], maker["L"], maker["n"]) == (
            "rest-1",
            True,
            "59000.00",
            "0.11800000",  # 59000 * 0.010 * maker 0.0002
        )
        assert events[4]["o"]["c"] == "rest-2"

    async def test_every_open_connection_gets_the_same_frames(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with (
            sim.stream_connector.connect(url(stream_client, key, "/ws/")) as legacy,
            sim.stream_connector.connect(url(stream_client, key)) as private,
        ):
            await market(stream_client, "BUY", "0.010", "both")
            frames = await receive_all(legacy)
            assert kinds(frames) == MARKET_EVENTS
            assert await receive_all(private) == frames
            assert sim.stream_statistics().open_connections == 2
        assert sim.stream_statistics().open_connections == 0

    async def test_a_closed_connection_gets_nothing_and_a_late_one_nothing_earlier(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as first:
            pass
        with pytest.raises(StreamClosed, match="closed by the client"):
            await first.get_message()
        await market(stream_client, "BUY", "0.010", "nobody-listens")
        async with sim.stream_connector.connect(url(stream_client, key)) as late:
            assert await receive_all(late) == []


class TestFundingAndAlgoEvents:
    """Funding is an ACCOUNT_UPDATE of reason FUNDING_FEE; algo orders send ALGO_UPDATE."""

    async def test_funding_on_a_cross_position_sends_the_balance_only(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        await market(stream_client, "BUY", "0.010", "long")
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            paid = sim.settle_funding("BTCUSDT", "0.0001")
            (event,) = await receive_all(conn)
        balance = only((await stream_client.signed("GET", "/fapi/v3/balance")).json())
        assert paid == Decimal("-0.06000000")  # 0.010 long * 60000.00 mark * 0.0001
        assert event["e"] == "ACCOUNT_UPDATE"
        assert event["a"] == {
            "m": "FUNDING_FEE",
            "B": [
                {
                    "a": "USDT",
                    "wb": balance["balance"],
                    "cw": balance["balance"],
                    "bc": "-0.06000000",
                }
            ],
            "P": [],
            "S": "BTCUSDT",
        }

    async def test_funding_on_an_isolated_position_adds_that_position(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        await stream_client.signed(
            "POST", "/fapi/v1/marginType", [("symbol", "BTCUSDT"), ("marginType", "ISOLATED")]
        )
        await market(stream_client, "SELL", "0.010", "short")
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            sim.settle_funding("BTCUSDT", "0.0001")
            (event,) = await receive_all(conn)
        (position,) = event["a"]["P"]
        assert (position["s"], position["pa"], position["mt"]) == ("BTCUSDT", "-0.010", "isolated")
        assert event["a"]["B"][0]["bc"] == "0.06000000"  # shorts receive

    async def test_an_algo_order_reports_each_status(
        self, stream_client: SimClient, autojump_clock: trio.testing.MockClock
    ) -> None:
        sim = stream_client.sim
        key = await new_key(stream_client)
        async with sim.stream_connector.connect(url(stream_client, key)) as conn:
            response = await stream_client.signed(
                "POST",
                "/fapi/v1/algoOrder",
                [
                    ("algoType", "CONDITIONAL"),
                    ("symbol", "BTCUSDT"),
                    ("side", "BUY"),
                    ("type", "STOP_MARKET"),
                    ("quantity", "0.010"),
                    ("triggerPrice", "61000.00"),
                    ("clientAlgoId", "stop-1"),
                ],
            )
            assert response.status_code == 200, response.text
            sim.set_price("BTCUSDT", "61000.00")
            events = await receive_all(conn)
        algo = [e["o"] for e in events if e["e"] == "ALGO_UPDATE"]
        assert [a["X"] for a in algo] == ["NEW", "TRIGGERING", "TRIGGERED", "FINISHED"]
        assert {a["caid"] for a in algo} == {"stop-1"}
        assert all(set(e) == {"e", "E", "T", "o"} for e in events if e["e"] == "ALGO_UPDATE")
        finished = algo[-1]
        order = [e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"][-1]
        assert (finished["ai"], finished["aq"], finished["act"]) == (
            str(order["i"]),
            "0.010",
            "MARKET",
        )
        assert finished["ap"] == order["ap"]
        assert kinds(events) == [
            "ALGO_UPDATE",
            "ALGO_UPDATE",
            "ORDER_TRADE_UPDATE:NEW",
            "ALGO_UPDATE",
            "ORDER_TRADE_UPDATE:TRADE",
            "ACCOUNT_UPDATE",
            "ALGO_UPDATE",
        ]
