"""Error answers are read for what they say about the rate budget."""

from __future__ import annotations

import pytest

from trio_fapi.protocol.messages import ThrottleKind
from trio_fapi.protocol.throttles import throttle_for
from trio_fapi.protocol.wire import exchange_error


def _kind(status: int, body: bytes) -> ThrottleKind | None:
    observed = throttle_for(exchange_error(status, body, path="/x"), retry_after_s=None)
    return None if observed is None else observed.kind


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (429, b'{"code":-1003,"msg":"Too many requests; current limit is 2400."}', "ip_weight"),
        (429, b'{"code":-1015,"msg":"Too many new orders; limit is 300 per 10s."}', "order_rate"),
        (418, b'{"code":-1003,"msg":"Way too many requests; IP banned until 1."}', "banned"),
        (
            503,
            b'{"code":-1008,"msg":"Request throttled."}',
            "server_busy",
        ),
        (
            503,
            b'{"msg":"Unknown error, please check your request."}',
            "server_error",
        ),
        (502, b"<html>bad gateway</html>", "server_error"),
        (400, b'{"code":-2019,"msg":"Margin is insufficient."}', None),
        (400, b'{"code":-1021,"msg":"Timestamp outside of the recvWindow."}', None),
    ],
)
def test_kinds(status: int, body: bytes, kind: str | None) -> None:
    got = _kind(status, body)
    assert (got.value if got else None) == kind


def test_ban_end_is_read_from_the_message() -> None:
    error = exchange_error(
        418,
        b'{"code":-1003,"msg":"Way too many requests; IP banned until 1778353379518. Use ws."}',
        path="/fapi/v1/order",
    )
    observed = throttle_for(error, retry_after_s=None)
    assert observed is not None
    assert observed.ban_until_ms == 1778353379518


@pytest.mark.parametrize(
    ("msg", "window_s"),
    [
        ("Too many new orders; current limit is 300 orders per 10s.", 10.0),
        ("Too many new orders; current limit is 1200 orders per 1 MINUTE.", 60.0),
        ("Too many new orders; current limit is 300 orders per 10 SECOND.", 10.0),
        ("Too many new orders.", None),
    ],
)
def test_order_rate_window_is_read_from_the_message(msg: str, window_s: float | None) -> None:
    body = ('{"code":-1015,"msg":"' + msg + '"}').encode()
    observed = throttle_for(exchange_error(429, body, path="/x"), retry_after_s=3.0)
    assert observed is not None
    assert observed.window_s == window_s
    assert observed.retry_after_s == 3.0
