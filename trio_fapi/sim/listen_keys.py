"""The account's user-data-stream key and its validity window.

One key per account, as on Binance: ``POST`` returns the active key (and
extends it) or makes a new one, ``PUT`` extends it (-1125 if it is unknown or
expired), ``DELETE`` drops it. Clients differ on whether they send the key
with PUT and DELETE, so it is accepted present or absent.

The key is a secret (faults.md invariant I9): it is left out of every repr.
The stream hub listens for :attr:`ListenKeys.on_close` to close the
connections of a deleted key; expiry needs no hook, because validity is a
function of the time (:meth:`ListenKeys.is_valid`).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

import attrs

from .errors import SimError

__all__ = ["ListenKeys"]

_ALPHABET = string.ascii_letters + string.digits


@attrs.define(eq=False)
class ListenKeys:
    """The one listenKey of the simulated account."""

    ttl_ms: int
    seed: int
    key: str | None = attrs.field(default=None, repr=False)
    expires_ms: int = 0
    #: Called with a key that ``DELETE`` invalidated (its connections must close).
    on_close: list[Callable[[str], None]] = attrs.field(factory=list, repr=False)
    _rng: random.Random = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(f"listen-key:{self.seed}")

    def is_valid(self, key: str, now_ms: int) -> bool:
        """Whether ``key`` is the account's key and has not expired."""
        return self.key is not None and key == self.key and now_ms < self.expires_ms

    def create(self, now_ms: int) -> str:
        """The active key, extended; or a fresh one if none is active."""
        if self.key is None or now_ms >= self.expires_ms:
            self.key = "".join(self._rng.choice(_ALPHABET) for _ in range(64))
        self.expires_ms = now_ms + self.ttl_ms
        return self.key

    def keepalive(self, key: str | None, now_ms: int) -> str:
        """Extend the active key; -1125 if there is none or ``key`` is another."""
        if self.key is None or now_ms >= self.expires_ms or key not in (None, self.key):
            raise SimError.of(-1125)
        self.expires_ms = now_ms + self.ttl_ms
        return self.key

    def close(self, key: str | None) -> None:
        """Invalidate the key (a wrong or stale key is ignored, as DELETE is idempotent)."""
        closed = self.key
        if closed is not None and key in (None, closed):
            self.key = None
            self.expires_ms = 0
            for listener in list(self.on_close):
                listener(closed)

    def expire(self, now_ms: int) -> bool:
        """Let the active key run out now, ahead of its time (a fault).

        Returns:
            Whether a key was active (and has now expired).
        """
        if self.key is None or now_ms >= self.expires_ms:
            return False
        self.expires_ms = now_ms
        return True
