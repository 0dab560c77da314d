"""Keep signatures and listen keys out of httpx's and trio-websocket's log lines.

httpx logs every request line at INFO, signed query string included (faults.md
row 63); trio-websocket logs stream URLs, whose path is ``/ws/<listenKey>``
(row 64). A filter on those loggers rewrites such records before any handler
sees them; the pool and the stream connector install it once, idempotently.
"""

from __future__ import annotations

import logging
import re

__all__ = ["install_log_redaction", "redact"]

_SECRET_PARAMS = re.compile(
    r"(signature|listenKey|X-MBX-APIKEY)([=:]\s*)[^&\s\"',]+", re.IGNORECASE
)
#: A stream URL's path carries the listen key: ``.../ws/<listenKey>``.
_KEY_IN_PATH = re.compile(r"(/ws)(/)[^/?&\s\"',]+")
_LOGGERS = ("httpx", "httpcore", "trio-websocket")


def redact(text: str) -> str:
    """``text`` with signature, listen key and API-key values masked."""
    return _KEY_IN_PATH.sub(r"\1\2***", _SECRET_PARAMS.sub(r"\1\2***", text))


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = _RedactFilter()


def install_log_redaction() -> None:
    """Attach the redacting filter to the HTTP and WebSocket libraries' loggers (once)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
