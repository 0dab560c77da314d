"""The loopback server with binance-futures-connector, on the real clock.

Real sockets and autojump do not mix (faults.md part d, item 1), so this test
runs on trio's real clock, bounded by ``trio.fail_after``, on 127.0.0.1 only.
"""

from __future__ import annotations

from functools import partial

import pytest
import trio
from binance.error import ClientError
from binance.um_futures import UMFutures

from trio_fapi.sim import serve_sim

from .conftest import still_config


def _connector(port: int, secret: str = "sim-secret") -> UMFutures:
    client = UMFutures(
        key="sim-key", secret=secret, base_url=f"http://127.0.0.1:{port}", timeout=10
    )
    client.session.trust_env = False  # never route loopback through a proxy from the env
    return client


def _drive(port: int) -> dict[str, object]:
    """What a connector user does: place, query, list, cancel, and fail to sign."""
    client = _connector(port)
    placed = client.new_order(
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity=0.01,
        price=59990,
        newClientOrderId="conn-1",
    )
    queried = client.query_order(symbol="BTCUSDT", orderId=placed["orderId"])
    listed = client.get_orders(symbol="BTCUSDT")
    canceled = client.cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    try:
        _connector(port, secret="not-the-secret").get_orders()
    except ClientError as exc:
        bad_code = exc.error_code
    else:
        bad_code = None
    return {
        "placed": placed,
        "queried": queried,
        "listed": listed,
        "canceled": canceled,
        "bad_code": bad_code,
    }


@pytest.mark.loopback
async def test_connector_against_the_loopback_server() -> None:
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(partial(serve_sim, still_config(), port=0))
            assert isinstance(port, int)
            assert port > 0
            result = await trio.to_thread.run_sync(_drive, port, abandon_on_cancel=True)
            nursery.cancel_scope.cancel()
    placed = result["placed"]
    assert isinstance(placed, dict)
    assert (placed["status"], placed["clientOrderId"], placed["price"]) == (
        "NEW",
        "conn-1",
        "59990.00",
    )
    queried = result["queried"]
    assert isinstance(queried, dict)
    assert queried["orderId"] == placed["orderId"]
    listed = result["listed"]
    assert isinstance(listed, list)
    assert [o["orderId"] for o in listed] == [placed["orderId"]]
    canceled = result["canceled"]
    assert isinstance(canceled, dict)
    assert canceled["status"] == "CANCELED"
    assert result["bad_code"] == -1022


async def test_refuses_a_non_loopback_address() -> None:
    with pytest.raises(ValueError, match="allow_non_loopback"):
        await serve_sim(host="0.0.0.0")
