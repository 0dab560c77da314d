"""Signing the exact bytes sent (faults.md row 65; binance-fapi.md section 4.1)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
from urllib.parse import parse_qsl, unquote

import pytest
from binance.lib.utils import encoded_string
from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15
from hypothesis import given
from hypothesis import strategies as st

from trio_fapi.actors._signing import encode_params, sign_payload, signed_query
from trio_fapi.protocol.credentials import Credentials
from trio_fapi.protocol.ids import CLIENT_ORDER_ID_PATTERN

DOC_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
DOC_PAYLOAD = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
    "&recvWindow=5000&timestamp=1591702613943"
)
DOC_SIGNATURE = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
DOC_PARAMS = [
    ("symbol", "BTCUSDT"),
    ("side", "BUY"),
    ("type", "LIMIT"),
    ("quantity", "1"),
    ("price", "9000"),
    ("timeInForce", "GTC"),
]
HMAC_CREDS = Credentials(api_key="key", api_secret=DOC_SECRET)
TRICKY_IDS = ["a.b:c/d_e-f", "x:y", "a/b/c", "...", "--__", ".:/_-", "A" * 36]


def split_signature(query: str) -> tuple[str, str]:
    """The signed part and the signature of a query whose last parameter is the signature."""
    payload, _, last = query.rpartition("&")
    name, _, signature = last.partition("=")
    assert name == "signature"
    return payload, signature


def hmac_hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class TestHmacVector:
    """HMAC signing reproduces Binance's documented example exactly."""

    def test_sign_payload(self) -> None:
        assert sign_payload(HMAC_CREDS, DOC_PAYLOAD) == DOC_SIGNATURE

    def test_signed_query_builds_the_documented_request(self) -> None:
        query = signed_query(
            HMAC_CREDS, DOC_PARAMS, timestamp_ms=1591702613943, recv_window_ms=5000
        )
        assert query == f"{DOC_PAYLOAD}&signature={DOC_SIGNATURE}"

    def test_another_order_gives_another_signature(self) -> None:
        # The signature covers the bytes: the same parameters reordered do not verify.
        reordered = "&".join(sorted(DOC_PAYLOAD.split("&")))
        assert sign_payload(HMAC_CREDS, reordered) != DOC_SIGNATURE


class TestSignedQuery:
    """signed_query appends timestamp then signature, and signs exactly the bytes before it."""

    @pytest.mark.parametrize("recv_window", [None, 5000])
    @pytest.mark.parametrize("client_id", TRICKY_IDS)
    def test_signature_last_over_preceding_bytes(
        self, client_id: str, recv_window: int | None
    ) -> None:
        params = [*DOC_PARAMS, ("newClientOrderId", client_id)]
        query = signed_query(
            HMAC_CREDS, params, timestamp_ms=1763712000123, recv_window_ms=recv_window
        )
        payload, signature = split_signature(query)
        assert query.count("signature=") == 1
        assert signature == hmac_hex(DOC_SECRET, payload)
        decoded = parse_qsl(payload, keep_blank_values=True, strict_parsing=True)
        expected = [*params]
        if recv_window is not None:
            expected.append(("recvWindow", str(recv_window)))
        expected.append(("timestamp", "1763712000123"))
        assert decoded == expected

    @given(client_id=st.from_regex(CLIENT_ORDER_ID_PATTERN, fullmatch=True))
    def test_any_legal_client_id_round_trips(self, client_id: str) -> None:
        params = [("symbol", "BTCUSDT"), ("newClientOrderId", client_id)]
        query = signed_query(HMAC_CREDS, params, timestamp_ms=1, recv_window_ms=None)
        payload, signature = split_signature(query)
        assert signature == hmac_hex(DOC_SECRET, payload)
        assert dict(parse_qsl(payload, strict_parsing=True))["newClientOrderId"] == client_id


class TestEncodingMatchesConnector:
    """Parameters encode byte-for-byte as binance-futures-connector encodes them."""

    @pytest.mark.parametrize("client_id", TRICKY_IDS)
    def test_client_ids(self, client_id: str) -> None:
        params = [("symbol", "BTCUSDT"), ("newClientOrderId", client_id), ("quantity", "0.001")]
        assert encode_params(params) == encoded_string(params)

    def test_reserved_characters(self) -> None:
        text = encode_params([("newClientOrderId", "a.b:c/d_e-f")])
        assert text == "newClientOrderId=a.b%3Ac%2Fd_e-f"

    @given(
        st.lists(
            st.tuples(
                st.text(alphabet=string.ascii_letters, min_size=1, max_size=12),
                st.text(max_size=40),
            ),
            max_size=6,
        )
    )
    def test_any_text(self, params: list[tuple[str, str]]) -> None:
        assert encode_params(params) == encoded_string(params)


@pytest.fixture(scope="module")
def rsa_key() -> RSA.RsaKey:
    return RSA.generate(2048)


def verify_rsa(key: RSA.RsaKey, payload: str, sent_signature: str) -> None:
    """Raise unless ``sent_signature`` (URL-encoded base64) is key's signature of payload."""
    raw = base64.b64decode(unquote(sent_signature), validate=True)
    pkcs1_15.new(key.public_key()).verify(SHA256.new(payload.encode()), raw)


class TestRsa:
    """RSA signatures verify with the public key and are URL-encoded as sent."""

    def test_sign_payload(self, rsa_key: RSA.RsaKey) -> None:
        creds = Credentials(api_key="key", private_key=rsa_key.export_key(pkcs=8).decode())
        signature = sign_payload(creds, DOC_PAYLOAD)
        assert not set(signature) & set("+/= \n")
        verify_rsa(rsa_key, DOC_PAYLOAD, signature)
        with pytest.raises(ValueError):
            verify_rsa(rsa_key, DOC_PAYLOAD + "&x=1", signature)

    def test_signed_query_with_passphrase(self, rsa_key: RSA.RsaKey) -> None:
        pem = rsa_key.export_key(
            pkcs=8, passphrase="pw", protection="PBKDF2WithHMAC-SHA256AndAES128-CBC"
        ).decode()
        creds = Credentials(api_key="key", private_key=pem, private_key_passphrase="pw")
        params = [*DOC_PARAMS, ("newClientOrderId", "a.b:c/d_e-f")]
        query = signed_query(creds, params, timestamp_ms=1763712000123, recv_window_ms=5000)
        payload, signature = split_signature(query)
        assert payload == encoded_string(
            [*params, ("recvWindow", "5000"), ("timestamp", "1763712000123")]
        )
        verify_rsa(rsa_key, payload, signature)
