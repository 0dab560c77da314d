"""Executor configuration, including loading keys from a ``.env`` file.

Keys come from ``BINANCE_API_KEY`` / ``BINANCE_API_SECRET`` (or an RSA
``BINANCE_PRIVATE_KEY_FILE``), read from the process environment or a ``.env``
file without copying anything into ``os.environ``. Proxies are explicit
(``BINANCE_PROXY``, else ``HTTPS_PROXY``): httpx's implicit environment proxies
are off, so nothing is routed through a proxy the user did not name.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Literal, final
from urllib.parse import urlsplit, urlunsplit

import attrs
from dotenv import dotenv_values

from .actors.retry import RetryPolicy
from .protocol.adaptive import ADAPTIVE_PRESETS, AdaptiveMode
from .protocol.credentials import Credentials

__all__ = ["BINANCE_FAPI_URL", "BINANCE_TESTNET_URL", "ExecutorConfig", "redact_url"]

BINANCE_FAPI_URL = "https://fapi.binance.com"
BINANCE_TESTNET_URL = "https://demo-fapi.binance.com"


def redact_url(url: str | None) -> str | None:
    """A URL with any ``user:password@`` replaced by ``***@``."""
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".invalid"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_base_url(_inst: object, _attr: object, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and _is_local(parts.hostname or ""):
        return
    raise ValueError(f"base_url {value!r}: use https://, or http:// only for a loopback simulator")


def _frozen_shares(shares: Mapping[str, float]) -> Mapping[str, float]:
    for name, share in shares.items():
        if not share > 0:
            raise ValueError(f"strategy_shares[{name!r}] must be positive, got {share!r}")
    return MappingProxyType(dict(shares))


@final
@attrs.frozen(kw_only=True)
class ExecutorConfig:
    """Everything :func:`trio_fapi.open_executor` needs.

    Attributes:
        base_url: The REST host. Plain ``http://`` only for loopback simulators.
        credentials: API key and secret; ``None`` allows public endpoints only.
        session: Tag that prefixes client order ids; defaults to one per run.
        recv_window_ms: Sent with every signed request; small keeps the window in
            which an unknown order may still execute short (faults.md row 66).
        request_timeout_s: The engine's own deadline for one HTTP attempt.
        order_deadline_s: How long a placement or cancel may take in total,
            queueing and retries included.
        rest_workers: Concurrent HTTP requests.
        poll_interval_s: How often open orders are reconciled by REST.
        query_lag_s: Extra time before "no such order" counts as proof of absence.
        unknown_resolution_s: After this an unknown placement is escalated.
        drain_s: Bounded shutdown: in-flight work gets this long to finish.
        max_in_flight_per_symbol: Order requests one symbol actor accepts at once.
        limiter_reserve_fraction: Share of every rate window held for the
            priority lane (cancels, risk-reducing orders, heartbeats).
        limiter_adaptive: How throttling lowers the limits: ``"off"``,
            ``"aggressive"`` (full limits, gentle back-off) or
            ``"conservative"`` (20% headroom, hard back-off).
        limiter_max_waiting: Requests the limiter queues before refusing with
            ``Overloaded``.
        limiter_max_waiting_per_strategy: The same bound for one strategy, so
            one flood cannot fill the shared queue.
        rate_limit_fraction: The part of every exchange limit this process may
            use. Several processes on one account or IP split the limits, e.g.
            0.5 each for two.
        strategy_shares: Fair-queue weight per strategy name (default 1): a
            strategy with share 2 gets twice the turns of one with share 1
            when the windows are the bottleneck.
        clock_sync_interval_s: How often the server clock offset is measured
            again (it is also measured after every -1021).
        clock_sync_samples: Round trips per measurement (the median is used).
        deadman: Keep a ``countdownCancelAll`` heartbeat on every symbol with
            live orders, so the exchange cancels them if this process hangs or
            dies; disarmed on a clean shutdown.
        deadman_countdown_ms: The countdown each heartbeat sets.
        deadman_refresh_s: Heartbeat period (well inside the countdown).
        journal_path: An SQLite file where every placement and modification is
            written before it is sent; on start, its unsettled intents are
            reconciled before ``open_executor`` yields. ``None``: no journal
            (a crash then loses what was in flight).
        journal_synchronous: ``"FULL"`` (fsync per commit, survives a power
            cut) or ``"NORMAL"`` (survives a process crash only).
        exchange_info_refresh_s: How often symbol filters are reloaded (they
            are also reloaded after a -1111 or -1121 refusal).
        mark_price_max_age_s: A mark price older than this is fetched again
            before a PERCENT_PRICE check.
        max_actor_restarts: Crashes of one symbol actor that are survived
            (the actor is restarted from its records) before the executor stops.
        user_stream: Run the user-data stream (needs credentials): fills and
            exchange-side changes arrive as they happen, polling slows down to
            ``stream_poll_interval_s`` while it is up.
        stream_url: The stream host (``wss://fstream.binance.com``); derived from
            ``base_url`` for production and loopback simulators.
        stream_poll_interval_s: Order polling while the stream is up and
            reconciled (``poll_interval_s`` applies while it is down).
        listen_key_keepalive_s: Between listen-key keep-alives (the key lives
            60 minutes; at most half of that).
        stream_ping_interval_s: Quiet time after which the engine pings the
            stream to detect a half-open socket.
        stream_pong_timeout_s: A ping without a pong this long means reconnect.
        retry: Back-off for requests that are safe to retry.
        seed: Seeds retry jitter, for reproducible runs.
        proxy: An explicit HTTP(S) proxy URL.
    """

    base_url: str = attrs.field(default=BINANCE_FAPI_URL, validator=_check_base_url)
    credentials: Credentials | None = None
    session: str | None = None
    recv_window_ms: int = attrs.field(
        default=5000, validator=attrs.validators.in_(range(1, 60_001))
    )
    request_timeout_s: float = 10.0
    order_deadline_s: float = 30.0
    rest_workers: int = 4
    poll_interval_s: float = 1.0
    query_lag_s: float = 3.0
    unknown_resolution_s: float = 30.0
    drain_s: float = 10.0
    max_in_flight_per_symbol: int = 256
    limiter_reserve_fraction: float = attrs.field(
        default=0.1, validator=[attrs.validators.ge(0), attrs.validators.lt(1)]
    )
    limiter_adaptive: AdaptiveMode = attrs.field(
        default="aggressive", validator=attrs.validators.in_(tuple(ADAPTIVE_PRESETS))
    )
    limiter_max_waiting: int = attrs.field(default=10_000, validator=attrs.validators.gt(0))
    limiter_max_waiting_per_strategy: int = attrs.field(
        default=2_000, validator=attrs.validators.gt(0)
    )
    rate_limit_fraction: float = attrs.field(
        default=1.0, validator=[attrs.validators.gt(0), attrs.validators.le(1)]
    )
    strategy_shares: Mapping[str, float] = attrs.field(
        factory=dict, converter=_frozen_shares, eq=False
    )
    clock_sync_interval_s: float = attrs.field(default=300.0, validator=attrs.validators.gt(0))
    clock_sync_samples: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    deadman: bool = True
    deadman_countdown_ms: int = attrs.field(default=60_000, validator=attrs.validators.ge(1000))
    deadman_refresh_s: float = attrs.field(default=15.0, validator=attrs.validators.gt(0))
    journal_path: str | None = None
    journal_synchronous: Literal["FULL", "NORMAL"] = attrs.field(
        default="FULL", validator=attrs.validators.in_(("FULL", "NORMAL"))
    )
    exchange_info_refresh_s: float = attrs.field(default=3600.0, validator=attrs.validators.gt(0))
    mark_price_max_age_s: float = attrs.field(default=5.0, validator=attrs.validators.ge(0))
    max_actor_restarts: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    user_stream: bool = True
    stream_url: str | None = None
    stream_poll_interval_s: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    listen_key_keepalive_s: float = attrs.field(
        default=1800.0, validator=[attrs.validators.gt(0), attrs.validators.le(1800)]
    )
    stream_ping_interval_s: float = attrs.field(default=30.0, validator=attrs.validators.gt(0))
    stream_pong_timeout_s: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    seed: int | None = None
    proxy: str | None = attrs.field(default=None, repr=lambda url: repr(redact_url(url)))

    @classmethod
    def from_env(
        cls,
        env_file: str | Path | None = ".env",
        *,
        environ: Mapping[str, str] | None = None,
        **overrides: object,
    ) -> ExecutorConfig:
        """Build a config from the environment and an optional ``.env`` file.

        The process environment wins over the file. Recognised names:
        ``BINANCE_API_KEY``, ``BINANCE_API_SECRET``, ``BINANCE_PRIVATE_KEY_FILE``,
        ``BINANCE_PRIVATE_KEY_PASSPHRASE``, ``BINANCE_BASE_URL``,
        ``BINANCE_PROXY`` (else ``HTTPS_PROXY``), ``BINANCE_RECV_WINDOW``.
        """
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        credentials: Credentials | None = None
        key = values.get("BINANCE_API_KEY")
        key_file = values.get("BINANCE_PRIVATE_KEY_FILE")
        if key and key_file:
            credentials = Credentials(
                api_key=key,
                private_key=Path(key_file).read_text(),
                private_key_passphrase=values.get("BINANCE_PRIVATE_KEY_PASSPHRASE"),
            )
        elif key and values.get("BINANCE_API_SECRET"):
            credentials = Credentials(api_key=key, api_secret=values["BINANCE_API_SECRET"])
        kwargs: dict[str, object] = {"credentials": credentials}
        if values.get("BINANCE_BASE_URL"):
            kwargs["base_url"] = values["BINANCE_BASE_URL"]
        proxy = values.get("BINANCE_PROXY") or values.get("HTTPS_PROXY")
        if proxy:
            kwargs["proxy"] = proxy
        if values.get("BINANCE_RECV_WINDOW"):
            kwargs["recv_window_ms"] = int(values["BINANCE_RECV_WINDOW"])
        kwargs.update(overrides)
        return cls(**kwargs)  # type: ignore[arg-type]
