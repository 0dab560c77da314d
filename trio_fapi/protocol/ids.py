"""Identifiers as types, so a symbol is never confused with a client order id."""

from __future__ import annotations

import hashlib
import re
from typing import final

import attrs

from .errors import InvalidClientOrderId, UnknownSymbol

__all__ = ["CLIENT_ORDER_ID_PATTERN", "ClientOrderId", "Symbol", "VenueOrderId"]

#: Binance's rule for ``newClientOrderId`` and ``clientAlgoId`` (-4015 otherwise).
CLIENT_ORDER_ID_PATTERN = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{2,32}$")
_TAG_PATTERN = re.compile(r"[^A-Za-z0-9]")


def _check_symbol(_inst: object, _attr: object, value: str) -> None:
    if not isinstance(value, str) or not _SYMBOL_PATTERN.fullmatch(value):
        raise UnknownSymbol(symbol=repr(value), reason="symbols are upper-case, like BTCUSDT")


@final
@attrs.frozen(order=True)
class Symbol:
    """A native Binance symbol such as ``BTCUSDT`` (never ``BTC/USDT``)."""

    value: str = attrs.field(validator=_check_symbol)

    def __str__(self) -> str:
        return self.value


def _check_client_id(_inst: object, _attr: object, value: str) -> None:
    # fullmatch: with .match, "$" also matches before a trailing newline.
    if not isinstance(value, str) or not CLIENT_ORDER_ID_PATTERN.fullmatch(value):
        raise InvalidClientOrderId(value=repr(value))


@final
@attrs.frozen(order=True)
class ClientOrderId:
    """The id we choose for an order, legal under ``^[.A-Z:/a-z0-9_-]{1,36}$``."""

    value: str = attrs.field(validator=_check_client_id)

    def __str__(self) -> str:
        return self.value

    @classmethod
    def derive(cls, *, session: str, strategy: str, symbol: Symbol, seq: int) -> ClientOrderId:
        """Build a deterministic id from who asked, where, and which intent.

        The same (session, strategy, symbol, seq) always gives the same id, so a
        restarted process that knows its session and sequence can look up what it
        may have sent. The strategy is shortened to a readable tag plus a hash, so
        two strategies never share ids even when their tags collide.

        Args:
            session: A short tag for the engine run (letters and digits).
            strategy: The strategy's name, any text.
            symbol: The order's symbol.
            seq: The intent's sequence number within (strategy, symbol).

        Raises:
            InvalidClientOrderId: ``session`` has illegal characters, or ``seq`` is
                too large to fit in 36 characters.
        """
        tag = _TAG_PATTERN.sub("", strategy)[:6] or "s"
        digest = hashlib.blake2s(
            f"{strategy}\x00{symbol.value}".encode("utf-8", "surrogatepass"), digest_size=3
        ).hexdigest()
        head = f"{session[:8]}."
        tail = f"{digest}.{seq:x}"
        # Shorten the readable tag, never the digest or the sequence number: cutting
        # the end of the text made ids of large sequence numbers collide.
        room = 36 - len(head) - len(tail)
        if room < 0:
            raise InvalidClientOrderId(value=repr(seq), reason="seq too large for a 36-char id")
        return cls(f"{head}{tag[:room]}{tail}")


@final
@attrs.frozen(order=True)
class VenueOrderId:
    """Binance's ``orderId`` (an int64 that grows per symbol)."""

    value: int = attrs.field(validator=attrs.validators.instance_of(int))

    def __str__(self) -> str:
        return str(self.value)
