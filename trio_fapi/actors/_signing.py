"""Signing and encoding, through binance-futures-connector's own helpers.

The connector is confined to this module. Using its ``hmac_hashing`` and
``rsa_signature`` makes our signatures byte-identical to the connector's, and its
``encoded_string`` makes our query strings encode exactly as its do (``@`` sent
raw). The request builder signs exactly the string it sends: one canonical
parameter order, ``timestamp`` after the caller's parameters, ``signature`` last.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from binance.lib.authentication import hmac_hashing, rsa_signature
from binance.lib.utils import encoded_string

from trio_fapi.protocol.credentials import Credentials

__all__ = ["encode_params", "sign_payload", "signed_query"]


def encode_params(params: Iterable[tuple[str, str]]) -> str:
    """URL-encode parameters in the given order, as the connector does."""
    return str(encoded_string(list(params)))


def sign_payload(credentials: Credentials, payload: str) -> str:
    """Sign ``payload`` (query string + body) and return the signature as sent.

    HMAC gives lower-case hex; RSA gives base64, which is URL-encoded here
    because it contains ``+``, ``/`` and ``=``.
    """
    if credentials.private_key is not None:
        passphrase = credentials.private_key_passphrase
        raw = rsa_signature(
            credentials.private_key.reveal(),
            payload,
            passphrase.reveal() if passphrase is not None else None,
        )
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return quote(text, safe="")
    assert credentials.api_secret is not None  # Credentials guarantees one of the two
    return str(hmac_hashing(credentials.api_secret.reveal(), payload))


def signed_query(
    credentials: Credentials,
    params: Iterable[tuple[str, str]],
    *,
    timestamp_ms: int,
    recv_window_ms: int | None,
) -> str:
    """The full query string of a signed request: params, recvWindow, timestamp, signature."""
    items = list(params)
    if recv_window_ms is not None:
        items.append(("recvWindow", str(recv_window_ms)))
    items.append(("timestamp", str(timestamp_ms)))
    query = encode_params(items)
    return f"{query}&signature={sign_payload(credentials, query)}"
