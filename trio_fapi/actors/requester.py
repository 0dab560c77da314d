"""One REST request end to end: limiter admission, pool send, bounded retries.

The requester runs in the task of whoever asked (a symbol actor's job task, or a
caller reading market data) and owns nothing but its own attempt loop. Whether
a failure may be retried is decided by its outcome class
(:func:`trio_fapi.actors.retry.retryable`); how long to wait, by the
:class:`RetryPolicy`; jitter comes from a seeded ``random.Random`` so a test run
is reproducible.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import Awaitable, Callable, Mapping

import trio

from trio_fapi.protocol.codes import BinanceErrorCode
from trio_fapi.protocol.endpoints import Endpoint
from trio_fapi.protocol.errors import (
    DeadlineExceeded,
    EngineError,
    ExchangeError,
    RequestTimedOut,
)
from trio_fapi.protocol.messages import (
    Lane,
    LimiterCommand,
    RestCall,
    RestFailed,
    RestOutcome,
    WeightRefused,
)
from trio_fapi.protocol.wire import Outcome

from .halt import AccountHalt
from .limiter import RateLimiter
from .reply import OneShot
from .retry import RetryPolicy, retryable

__all__ = ["Requester"]

#: Answers that mean "your timestamp is off": re-measure the clock, then retry.
_CLOCK_CODES = frozenset(
    {BinanceErrorCode.INVALID_TIMESTAMP, BinanceErrorCode.ME_RECVWINDOW_REJECT}
)


class Requester:
    """Sends requests through the limiter and the pool on behalf of its owner."""

    def __init__(
        self,
        *,
        limiter: RateLimiter,
        limiter_channel: trio.MemorySendChannel[LimiterCommand],
        pool_channel: trio.MemorySendChannel[RestCall],
        request_timeout_s: float,
        retry: RetryPolicy,
        rng: random.Random,
        resync_clock: Callable[[], Awaitable[object]] | None = None,
        halt: AccountHalt | None = None,
    ) -> None:
        self._limiter = limiter
        self._limiter_channel = limiter_channel
        self._pool_channel = pool_channel
        self._timeout_s = request_timeout_s
        self._retry = retry
        self._rng = rng
        self._resync_clock = resync_clock
        self._halt = halt
        self._ids = itertools.count(1)

    async def aclose(self) -> None:
        """Release the channel handles."""
        await self._limiter_channel.aclose()
        await self._pool_channel.aclose()

    async def request(
        self,
        endpoint: Endpoint,
        params: Mapping[str, str],
        *,
        strategy: str,
        lane: Lane,
        deadline: float,
        retry: RetryPolicy | None = None,
        idempotent: bool | None = None,
    ) -> RestOutcome:
        """Send one request, retrying only what is safe, until ``deadline``.

        Returns the last outcome. A refusal by the limiter comes back as a
        NOT_SENT :class:`RestFailed` carrying the limiter's error.
        """
        policy = retry or self._retry
        safe = endpoint.idempotent if idempotent is None else idempotent
        items = tuple(params.items())
        weight = endpoint.weight(params)
        orders = endpoint.order_count(params)
        attempt = 0
        while True:
            attempt += 1
            request_id = next(self._ids)
            halted = self._halt.refuse(endpoint) if self._halt is not None else None
            if halted is not None:
                return RestFailed(
                    request_id=request_id, outcome=Outcome.NOT_SENT, error=halted, elapsed_s=0.0
                )
            admission = await self._limiter.acquire(
                self._limiter_channel,
                request_id=request_id,
                weight=weight,
                orders=orders,
                lane=lane,
                strategy=strategy,
                deadline=deadline,
            )
            if isinstance(admission, WeightRefused):
                return RestFailed(
                    request_id=request_id,
                    outcome=Outcome.NOT_SENT,
                    error=admission.error,
                    elapsed_s=0.0,
                )
            outcome = await self._send(endpoint, items, request_id, deadline)
            if (
                self._halt is not None
                and isinstance(outcome, RestFailed)
                and isinstance(outcome.error, ExchangeError)
            ):
                self._halt.observe(outcome.error)
            if not isinstance(outcome, RestFailed) or not retryable(outcome, idempotent=safe):
                return outcome
            if attempt >= policy.attempts:
                return outcome
            if (
                self._resync_clock is not None
                and isinstance(outcome.error, ExchangeError)
                and outcome.error.code in _CLOCK_CODES
            ):
                # -1021 / -5028: not executed. Every retry would carry the same
                # skew, so measure the server clock again first (faults.md row 22).
                with trio.move_on_at(deadline), contextlib.suppress(EngineError):
                    await self._resync_clock()  # a failed round keeps the last offset
            pause = policy.delay(attempt, self._rng)
            if trio.current_time() + pause >= deadline:
                return outcome
            await trio.sleep(pause)

    async def _send(
        self,
        endpoint: Endpoint,
        items: tuple[tuple[str, str], ...],
        request_id: int,
        deadline: float,
    ) -> RestOutcome:
        slot: OneShot[RestOutcome] = OneShot()
        timeout = max(0.001, min(self._timeout_s, deadline - trio.current_time()))
        call = RestCall(
            request_id=request_id,
            endpoint=endpoint,
            params=items,
            timeout_s=timeout,
            reply_to=slot,
        )
        start = trio.current_time()
        queued = False
        with trio.move_on_at(deadline):
            await self._pool_channel.send(call)
            queued = True
            return await slot.wait()
        if slot.done:
            return await slot.wait()
        # Never queued: provably not sent. Queued: it may be in flight, so unknown.
        waited = trio.current_time() - start
        return RestFailed(
            request_id=request_id,
            outcome=Outcome.UNKNOWN if queued else Outcome.NOT_SENT,
            error=RequestTimedOut(after_s=waited, path=endpoint.path)
            if queued
            else DeadlineExceeded(waited_s=waited),
            elapsed_s=trio.current_time() - start,
        )
