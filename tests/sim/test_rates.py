"""Rate limits: fixed windows on the server clock, usage headers, 429 with Retry-After."""

from __future__ import annotations

import attrs
import httpx
import trio
import trio.testing

from trio_fapi.protocol.filters import RateLimit
from trio_fapi.sim import BanPolicy, SimConfig, open_sim
from trio_fapi.sim.rates import RateLimiter

from .conftest import SimClient, still_config

MINUTE = 60_000


def _limiter(weight: int = 10, orders_10s: int = 3, orders_1m: int = 5) -> RateLimiter:
    return RateLimiter.from_limits(
        [
            RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=weight),
            RateLimit(kind="ORDERS", interval="SECOND", interval_num=10, limit=orders_10s),
            RateLimit(kind="ORDERS", interval="MINUTE", interval_num=1, limit=orders_1m),
        ]
    )


class TestWindows:
    """The pure counters."""

    def test_weight_accumulates_and_refuses_past_the_limit(self) -> None:
        rates = _limiter()
        t = 100 * MINUTE + 1000
        for used in (5, 10):
            decision = rates.admit(5, 0, t, order_endpoint=False)
            assert decision.allowed
            assert decision.headers == {"X-MBX-USED-WEIGHT-1M": str(used)}
        refused = rates.admit(1, 0, t + 500, order_endpoint=False)
        assert not refused.allowed
        assert refused.code == -1003
        assert refused.retry_after_s == 59  # 58.5 s to the minute's end, rounded up
        assert refused.headers == {"X-MBX-USED-WEIGHT-1M": "10"}  # refused requests don't count

    def test_window_resets_on_the_minute(self) -> None:
        rates = _limiter()
        t = 100 * MINUTE + 59_000
        assert rates.admit(10, 0, t, order_endpoint=False).allowed
        assert not rates.admit(1, 0, t + 999, order_endpoint=False).allowed
        assert rates.admit(1, 0, t + 1000, order_endpoint=False).allowed

    def test_order_windows(self) -> None:
        rates = _limiter(weight=100)
        t = 100 * MINUTE
        for n in (1, 2, 3):
            d = rates.admit(0, 1, t, order_endpoint=True)
            assert d.headers["X-MBX-ORDER-COUNT-10S"] == str(n)
            assert d.headers["X-MBX-ORDER-COUNT-1M"] == str(n)
        refused = rates.admit(0, 1, t + 2000, order_endpoint=True)
        assert (refused.allowed, refused.code, refused.retry_after_s) == (False, -1015, 8)
        assert rates.admit(0, 2, t + 10_000, order_endpoint=True).allowed
        refused = rates.admit(0, 1, t + 10_000, order_endpoint=True)
        assert refused.code == -1015  # now the minute window is full
        assert "1m" in refused.msg


class TestOverHttp:
    """Headers on every answer; a 429 with Retry-After when a limit breaks."""

    async def test_weight_header_on_every_response(self, client: SimClient) -> None:
        r = await client.public("GET", "/fapi/v1/ping")
        assert r.headers["X-MBX-USED-WEIGHT-1M"] == "1"
        r = await client.public("GET", "/fapi/v1/depth", [("symbol", "BTCUSDT"), ("limit", "1000")])
        assert r.headers["X-MBX-USED-WEIGHT-1M"] == "21"
        r = await client.signed("GET", "/fapi/v1/openOrders")  # 40 without a symbol
        assert r.headers["X-MBX-USED-WEIGHT-1M"] == "61"
        assert "X-MBX-ORDER-COUNT-1M" not in r.headers
        r = await client.signed("GET", "/fapi/v1/order", [("symbol", "BTCUSDT"), ("orderId", "1")])
        assert r.status_code == 400
        assert r.headers["X-MBX-USED-WEIGHT-1M"] == "62"  # errors count too

    async def test_order_count_headers(self, client: SimClient) -> None:
        r = await client.order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.010")
        assert r.headers["X-MBX-ORDER-COUNT-10S"] == "1"
        assert r.headers["X-MBX-ORDER-COUNT-1M"] == "1"
        assert r.headers["X-MBX-USED-WEIGHT-1M"] == "0"

    async def test_429_then_recovery(self, autojump_clock: trio.testing.MockClock) -> None:
        cfg = attrs.evolve(
            still_config(),
            rate_limits=(
                RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=5),
            ),
        )
        async with (
            open_sim(cfg) as sim,
            httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
        ):
            statuses = [(await http.get("/fapi/v1/time")).status_code for _ in range(7)]
            assert statuses == [200] * 5 + [429] * 2
            r = await http.get("/fapi/v1/time")
            assert r.json()["code"] == -1003
            retry_after = int(r.headers["Retry-After"])
            assert 1 <= retry_after <= 60
            await trio.sleep(retry_after)
            assert (await http.get("/fapi/v1/time")).status_code == 200
            stats = sim.stats()
            assert stats["responses_by_status"] == {"200": 6, "429": 3}
            assert stats["errors_by_code"] == {"-1003": 3}
            assert stats["rate_limited"] == 3

    async def test_exchange_info_serves_the_configured_limits(self, client: SimClient) -> None:
        info = (await client.public("GET", "/fapi/v1/exchangeInfo")).json()
        assert info["rateLimits"] == [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        ]


class TestBans:
    """Ignoring 429s gets the IP banned with 418, for longer each time."""

    @staticmethod
    def _config(violations: int = 3, first_ban_s: int = 120) -> SimConfig:
        return attrs.evolve(
            still_config(),
            rate_limits=(
                RateLimit(kind="REQUEST_WEIGHT", interval="MINUTE", interval_num=1, limit=5),
            ),
            ban_policy=BanPolicy(violations=violations, first_ban_s=first_ban_s),
        )

    async def test_ignored_429s_escalate_to_a_ban_that_doubles(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with (
            open_sim(self._config()) as sim,
            httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
        ):
            statuses = [(await http.get("/fapi/v1/time")).status_code for _ in range(9)]
            # 5 fit, one 429, then three more while its Retry-After runs: banned.
            assert statuses == [200] * 5 + [429] * 3 + [418]
            banned = await http.get("/fapi/v1/time")
            assert banned.status_code == 418
            body = banned.json()
            assert body["code"] == -1003
            until = sim.exchange.rates.banned_until_ms()
            assert f"IP banned until {until}" in body["msg"]
            assert until - sim.now_ms() == 120_000
            assert int(banned.headers["Retry-After"]) == 120
            await trio.sleep(120)
            assert (await http.get("/fapi/v1/time")).status_code == 200
            # Do it again: the second ban lasts twice as long.
            while (await http.get("/fapi/v1/time")).status_code != 418:
                pass
            assert sim.exchange.rates.banned_until_ms() - sim.now_ms() == 240_000
            stats = sim.stats()
            assert stats["ip_bans"] == 2
            assert stats["http_418"] == 3
            assert stats["http_429"] == stats["rate_limited"]

    async def test_a_client_that_honours_retry_after_is_never_banned(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async with (
            open_sim(self._config(violations=1)) as sim,
            httpx.AsyncClient(transport=sim.transport, base_url=sim.base_url) as http,
        ):
            for _ in range(40):
                r = await http.get("/fapi/v1/time")
                if r.status_code == 429:
                    await trio.sleep(int(r.headers["Retry-After"]))
            stats = sim.stats()
            assert stats["http_418"] == 0
            assert stats["ip_bans"] == 0
            assert isinstance(stats["http_429"], int)
            assert stats["http_429"] > 0
