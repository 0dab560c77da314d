"""The REST worker pool: sign at send time, own every deadline, classify every attempt.

N workers share one bounded inbox (trio's multi-consumer recipe). Each worker
has its own small ``httpx.AsyncClient``: httpcore scans its whole pool on every
request, so several one-connection clients are cheaper than one large pool
(reference/performance.md).

Each attempt ends in exactly one outcome (faults.md part b):

- NOT_SENT: connect-phase failure; the request never left.
- REJECTED: a definitive refusal from the exchange.
- DONE: a 2xx with a JSON body.
- UNKNOWN: timeout after sending, reset, 5xx, 503 "Unknown error", malformed 2xx,
  or cancellation while in flight. The caller resolves it; the pool never resends.

httpx errors carry the signed URL and the ``X-MBX-APIKEY`` header in their text.
They are translated here into the engine's own errors built from redacted data
and never chained (``raise ... from None``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol

import attrs
import httpx
import trio

from trio_fapi.protocol.credentials import Credentials
from trio_fapi.protocol.errors import (
    ConnectionFailed,
    ConnectionLost,
    CredentialsRequired,
    EngineError,
    ExchangeUnavailable,
    RequestTimedOut,
)
from trio_fapi.protocol.messages import (
    LimiterCommand,
    RestCall,
    RestFailed,
    RestOutcome,
    RestSucceeded,
    ThrottleKind,
    ThrottleObserved,
    UsageObserved,
)
from trio_fapi.protocol.throttles import throttle_for
from trio_fapi.protocol.wire import Outcome, classify, exchange_error

from ._redact import install_log_redaction
from ._signing import encode_params, signed_query

__all__ = ["REST_QUEUE_SIZE", "RestPoolStatistics", "RestWorkerPool", "TransportFactory"]

#: Buffer of the pool's shared inbox; producers block beyond it.
REST_QUEUE_SIZE = 64
_USER_AGENT = "trio-fapi/0.1"


class TransportFactory(Protocol):
    """Makes one transport per worker (the default makes a real one)."""

    def __call__(self) -> httpx.AsyncBaseTransport:
        """A fresh transport."""


@attrs.frozen(kw_only=True)
class RestPoolStatistics:
    """Counts by outcome, and what is in flight."""

    workers: int
    in_flight: int
    queued: int
    outcomes: dict[str, int]


def _header_int(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


class RestWorkerPool:
    """Sends REST calls; answers each with a :data:`RestOutcome`."""

    def __init__(
        self,
        *,
        base_url: str,
        credentials: Credentials | None,
        clock_ms: Callable[[], int],
        limiter: trio.MemorySendChannel[LimiterCommand],
        transport_factory: TransportFactory | None = None,
        workers: int = 4,
        recv_window_ms: int | None = 5000,
        proxy: str | None = None,
        server_offset_ms: Callable[[], int] = lambda: 0,
    ) -> None:
        install_log_redaction()
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._clock_ms = clock_ms
        self._offset_ms = server_offset_ms
        self._limiter = limiter
        self._transport_factory = transport_factory
        self._workers = workers
        self._recv_window_ms = recv_window_ms
        self._proxy = proxy
        self._send, self._inbox = trio.open_memory_channel[RestCall](REST_QUEUE_SIZE)
        self._in_flight = 0
        self._outcomes: dict[str, int] = {o.value: 0 for o in Outcome}

    def sender(self) -> trio.MemorySendChannel[RestCall]:
        """A new handle for producers (close it when done)."""
        return self._send.clone()

    def _client(self) -> httpx.AsyncClient:
        transport = self._transport_factory() if self._transport_factory is not None else None
        return httpx.AsyncClient(
            base_url=self._base_url,
            transport=transport,
            # The engine owns deadlines; httpx's timeout is only a backstop.
            timeout=httpx.Timeout(60.0),
            limits=httpx.Limits(max_connections=2, max_keepalive_connections=2),
            # Environment proxies and CA overrides are opt-in (faults.md rows 67-68).
            trust_env=False,
            proxy=self._proxy if transport is None else None,
            headers={"User-Agent": _USER_AGENT},
        )

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the workers until cancelled."""
        async with self._limiter, trio.open_nursery() as nursery:
            self._send.close()
            for _ in range(self._workers):
                nursery.start_soon(self._worker, self._inbox.clone())
            await self._inbox.aclose()
            task_status.started()

    async def _worker(self, inbox: trio.MemoryReceiveChannel[RestCall]) -> None:
        async with self._client() as client, inbox:
            async for call in inbox:
                self._in_flight += 1
                try:
                    outcome = await self._attempt(client, call)
                finally:
                    self._in_flight -= 1
                key = outcome.outcome.value if isinstance(outcome, RestFailed) else "done"
                self._outcomes[key] += 1
                call.reply_to.send(outcome)

    def _build(self, call: RestCall) -> tuple[str, dict[str, str]]:
        headers: dict[str, str] = {}
        ep = call.endpoint
        if ep.security.needs_key:
            if self._credentials is None:
                raise CredentialsRequired(path=ep.path)
            headers["X-MBX-APIKEY"] = self._credentials.api_key.reveal()
        if ep.signed:
            assert self._credentials is not None
            query = signed_query(
                self._credentials,
                call.params,
                timestamp_ms=self._clock_ms() + self._offset_ms(),
                recv_window_ms=self._recv_window_ms,
            )
        else:
            query = encode_params(call.params)
        url = f"{ep.path}?{query}" if query else ep.path
        return url, headers

    async def _attempt(self, client: httpx.AsyncClient, call: RestCall) -> RestOutcome:
        start = trio.current_time()
        path = call.endpoint.path

        def failed(outcome: Outcome, error: EngineError) -> RestFailed:
            return RestFailed(
                request_id=call.request_id,
                outcome=outcome,
                error=error,
                elapsed_s=trio.current_time() - start,
            )

        try:
            url, headers = self._build(call)
        except CredentialsRequired as exc:
            return failed(Outcome.REJECTED, exc)
        response: httpx.Response | None = None
        try:
            with trio.move_on_after(call.timeout_s):
                response = await client.request(call.endpoint.method, url, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            return failed(
                Outcome.NOT_SENT, ConnectionFailed(reason=f"could not connect for {path}")
            )
        except httpx.TransportError as exc:
            # Read/write errors and resets after the request may have been written.
            return failed(
                Outcome.UNKNOWN,
                ConnectionLost(reason=f"{type(exc).__name__} on {path} after sending"),
            )
        except trio.Cancelled:
            call.reply_to.send(
                failed(
                    Outcome.UNKNOWN, RequestTimedOut(after_s=trio.current_time() - start, path=path)
                )
            )
            raise
        if response is None:
            await self._limiter.send(
                ThrottleObserved(kind=ThrottleKind.SERVER_ERROR, http_status=0)
            )
            return failed(Outcome.UNKNOWN, RequestTimedOut(after_s=call.timeout_s, path=path))
        await self._observe(response)
        body = response.content
        if 200 <= response.status_code < 300:
            try:
                payload = json.loads(body)
            except ValueError:
                return failed(
                    Outcome.UNKNOWN,
                    ExchangeUnavailable(
                        http_status=response.status_code,
                        code=None,
                        msg=f"malformed body ({len(body)} bytes)",
                        path=path,
                    ),
                )
            return RestSucceeded(
                request_id=call.request_id,
                http_status=response.status_code,
                payload=payload,
                elapsed_s=trio.current_time() - start,
            )
        retry_after = _retry_after(response.headers)
        error = exchange_error(response.status_code, body, path=path, retry_after=retry_after)
        throttle = throttle_for(error, retry_after_s=retry_after)
        if throttle is not None:
            await self._limiter.send(throttle)
        return failed(classify(error), error)

    async def _observe(self, response: httpx.Response) -> None:
        headers = response.headers
        usage = UsageObserved(
            used_weight_1m=_header_int(headers, "x-mbx-used-weight-1m"),
            order_count_10s=_header_int(headers, "x-mbx-order-count-10s"),
            order_count_1m=_header_int(headers, "x-mbx-order-count-1m"),
        )
        if usage != UsageObserved(used_weight_1m=None, order_count_10s=None, order_count_1m=None):
            await self._limiter.send(usage)

    def statistics(self) -> RestPoolStatistics:
        """Outcome counts and load."""
        return RestPoolStatistics(
            workers=self._workers,
            in_flight=self._in_flight,
            queued=self._send.statistics().current_buffer_used,
            outcomes=dict(self._outcomes),
        )


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None
