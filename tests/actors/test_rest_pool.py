"""Every attempt is classified, retried only when safe, and never leaks a secret."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
import trio
import trio.testing

from trio_fapi._time import AnchoredClock
from trio_fapi.actors.limiter import RateLimiter
from trio_fapi.actors.requester import Requester
from trio_fapi.actors.rest_pool import RestWorkerPool
from trio_fapi.actors.retry import RetryPolicy
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.protocol.endpoints import endpoint
from trio_fapi.protocol.errors import ExchangeRejected, ExchangeUnavailable
from trio_fapi.protocol.messages import Lane, RestFailed, RestOutcome, RestSucceeded
from trio_fapi.protocol.wire import Outcome

SECRET = "s3cr3t-value-that-must-never-print"
KEY = "api-key-that-must-never-print-in-full"
Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


@asynccontextmanager
async def harness(
    handler: Handler, *, attempts: int = 4
) -> AsyncIterator[tuple[Requester, RateLimiter, list[float]]]:
    """A limiter, a pool over a mock transport, and a requester; plus send times."""
    sent: list[float] = []

    async def recording(request: httpx.Request) -> httpx.Response:
        sent.append(trio.current_time())
        return await handler(request)

    clock = AnchoredClock(epoch_ms=1_700_000_000_000)
    limiter = RateLimiter(clock_ms=clock)
    pool = RestWorkerPool(
        base_url="https://fapi.binance.com",
        credentials=Credentials(api_key=KEY, api_secret=SECRET),
        clock_ms=clock,
        limiter=limiter.sender(),
        transport_factory=lambda: httpx.MockTransport(recording),
        workers=2,
    )
    requester = Requester(
        limiter=limiter,
        limiter_channel=limiter.sender(),
        pool_channel=pool.sender(),
        request_timeout_s=5.0,
        retry=RetryPolicy(attempts=attempts, wait_initial=1.0, wait_jitter=0.0, wait_exp_base=2.0),
        rng=random.Random(0),
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(limiter.run)
        await nursery.start(pool.run)
        yield requester, limiter, sent
        nursery.cancel_scope.cancel()


def order_params() -> dict[str, str]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.002",
        "price": "60000",
        "timeInForce": "GTC",
        "newClientOrderId": "t.1",
    }


async def place(requester: Requester, deadline: float = 60.0) -> RestOutcome:
    return await requester.request(
        endpoint("new_order"),
        order_params(),
        strategy="s",
        lane=Lane.ORDER,
        deadline=deadline,
        idempotent=False,
    )


def json_response(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


class TestOutcomes:
    """Each kind of answer lands in its outcome class."""

    async def test_success_is_done_and_signed_request_carries_key(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        seen: list[httpx.Request] = []

        async def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return json_response(200, {"ok": True}, **{"X-MBX-USED-WEIGHT-1M": "7"})

        async with harness(handler) as (requester, limiter, _):
            outcome = await place(requester)
            await trio.testing.wait_all_tasks_blocked()
            assert isinstance(outcome, RestSucceeded)
            query = seen[0].url.query.decode()
            assert query.index("timestamp=") < query.index("signature=")
            assert query.rsplit("&", 1)[1].startswith("signature=")
            assert seen[0].headers["X-MBX-APIKEY"] == KEY
            weight = next(w for w in limiter.statistics().windows if w.name == "weight_1m")
            assert weight.used >= 7

    @pytest.mark.parametrize(
        ("status", "body", "outcome", "error_type"),
        [
            (
                503,
                {"msg": "Unknown error, please check your request or try again later."},
                Outcome.UNKNOWN,
                ExchangeUnavailable,
            ),
            (
                503,
                {"code": -1008, "msg": "Request throttled by system-level protection."},
                Outcome.REJECTED,
                ExchangeRejected,
            ),
            (
                400,
                {"code": -2019, "msg": "Margin is insufficient."},
                Outcome.REJECTED,
                ExchangeRejected,
            ),
            (
                400,
                {"code": -1007, "msg": "Timeout waiting for response from backend server."},
                Outcome.UNKNOWN,
                ExchangeUnavailable,
            ),
            (502, "<html>bad gateway</html>", Outcome.UNKNOWN, ExchangeUnavailable),
        ],
        ids=["503-unknown", "503-throttled", "400-margin", "400-timeout-1007", "502-html"],
    )
    async def test_error_answers(
        self,
        autojump_clock: trio.testing.MockClock,
        status: int,
        body: object,
        outcome: Outcome,
        error_type: type[Exception],
    ) -> None:
        async def handler(request: httpx.Request) -> httpx.Response:
            if isinstance(body, str):
                return httpx.Response(status, text=body)
            return json_response(status, body)

        async with harness(handler, attempts=1) as (requester, _, _):
            result = await place(requester)
            assert isinstance(result, RestFailed)
            assert result.outcome is outcome
            assert isinstance(result.error, error_type)

    async def test_deadline_mid_request_is_unknown_at_the_exact_time(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async def handler(request: httpx.Request) -> httpx.Response:
            await trio.sleep(30)
            return json_response(200, {})

        async with harness(handler) as (requester, _, _):
            start = trio.current_time()
            result = await place(requester)
            assert isinstance(result, RestFailed)
            assert result.outcome is Outcome.UNKNOWN
            assert trio.current_time() - start == pytest.approx(5.0)

    async def test_reset_after_send_is_unknown(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.RemoteProtocolError("Server disconnected", request=request)

        async with harness(handler) as (requester, _, sent):
            result = await place(requester)
            assert isinstance(result, RestFailed)
            assert result.outcome is Outcome.UNKNOWN
            assert len(sent) == 1  # a write with an unknown outcome is never resent

    async def test_malformed_success_body_is_unknown(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, text="{trunc")

        async with harness(handler) as (requester, _, _):
            result = await place(requester)
            assert isinstance(result, RestFailed)
            assert result.outcome is Outcome.UNKNOWN


class TestRetries:
    """Only what provably did not execute is resent, on an exact back-off schedule."""

    async def test_connect_errors_are_retried_with_exponential_backoff(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        async def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        async with harness(handler, attempts=4) as (requester, _, sent):
            result = await place(requester)
            assert isinstance(result, RestFailed)
            assert result.outcome is Outcome.NOT_SENT
            assert sent == [0.0, 1.0, 3.0, 7.0]

    async def test_429_retry_waits_for_the_pause(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        answers = [
            json_response(429, {"code": -1003, "msg": "Too many requests"}, **{"Retry-After": "61"})
        ]

        async def handler(request: httpx.Request) -> httpx.Response:
            return answers.pop() if answers else json_response(200, {"ok": True})

        async with harness(handler) as (requester, _, sent):
            result = await place(requester, deadline=200.0)
            assert isinstance(result, RestSucceeded)
            assert len(sent) == 2
            assert sent[1] >= 61.0

    async def test_reads_with_unknown_outcome_are_retried(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        answers = [httpx.Response(502, text="bad gateway")]

        async def handler(request: httpx.Request) -> httpx.Response:
            return answers.pop() if answers else json_response(200, {"serverTime": 1})

        async with harness(handler) as (requester, _, sent):
            result = await requester.request(
                endpoint("time"), {}, strategy="s", lane=Lane.QUERY, deadline=60.0
            )
            assert isinstance(result, RestSucceeded)
            assert sent == [0.0, 1.0]


class TestSecrets:
    """Errors built from httpx failures never carry the key, secret or signature."""

    async def test_no_secret_in_any_error_text(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        failures = [
            lambda r: httpx.ConnectError(f"boom {r.url}", request=r),
            lambda r: httpx.ReadError(f"boom {r.headers}", request=r),
        ]

        for make in failures:

            async def handler(
                request: httpx.Request, make: Callable[[httpx.Request], Exception] = make
            ) -> httpx.Response:
                raise make(request)

            async with harness(handler, attempts=1) as (requester, _, _):
                result = await place(requester)
                assert isinstance(result, RestFailed)
                text = f"{result.error!s} {result.error!r} {result!r}"
                assert SECRET not in text
                assert KEY not in text
                assert "signature" not in text
                assert result.error.__cause__ is None
