"""Credentials cannot leak by accident (faults.md rows 62, 70)."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable

import attrs
import pytest

from trio_fapi.protocol.credentials import Credentials, Secret

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PASSPHRASE = "correct horse battery staple"

HMAC = Credentials(api_key=API_KEY, api_secret=API_SECRET)
RSA = Credentials(
    api_key=API_KEY, private_key="-----BEGIN PRIVATE KEY-----...", private_key_passphrase=PASSPHRASE
)
SECRETS = (API_KEY, API_SECRET, PASSPHRASE, "BEGIN PRIVATE KEY")


def assert_redacted(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text
        assert secret[:12] not in text


class TestRedaction:
    """Every printed form of a Secret or Credentials is redacted."""

    @pytest.mark.parametrize("render", [repr, str, ascii, lambda v: f"{v}", lambda v: "%s" % (v,)])  # noqa: UP031
    def test_secret(self, render: Callable[[object], str]) -> None:
        assert_redacted(render(Secret(API_SECRET)))

    @pytest.mark.parametrize("creds", [HMAC, RSA], ids=["hmac", "rsa"])
    def test_credentials(self, creds: Credentials) -> None:
        assert_redacted(repr(creds))
        assert_redacted(str(creds))
        assert_redacted(f"{creds!r} {creds}")

    @pytest.mark.parametrize("creds", [HMAC, RSA], ids=["hmac", "rsa"])
    def test_asdict_and_astuple(self, creds: Credentials) -> None:
        # attrs.field(repr=False) would still leak here; a Secret does not.
        as_dict = attrs.asdict(creds)
        assert_redacted(repr(as_dict))
        assert_redacted(str(as_dict))
        assert_redacted(repr(attrs.astuple(creds)))

    def test_inside_an_exception(self) -> None:
        error = RuntimeError(HMAC)
        assert_redacted(str(error))
        assert_redacted(repr(error))

    def test_wrong_type_error_does_not_echo_the_value(self) -> None:
        with pytest.raises(TypeError) as info:
            Secret(b"raw-bytes-secret")  # type: ignore[arg-type]
        assert "raw-bytes-secret" not in str(info.value)

    def test_reveal_is_the_only_way_out(self) -> None:
        assert HMAC.api_secret is not None
        assert HMAC.api_secret.reveal() == API_SECRET
        assert HMAC.api_key.reveal() == API_KEY


class TestNoSerialisation:
    """A Secret refuses pickling and JSON, so Credentials cannot be serialised either."""

    @pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
    def test_pickle_secret(self, protocol: int) -> None:
        with pytest.raises(TypeError):
            pickle.dumps(Secret(API_SECRET), protocol=protocol)

    def test_pickle_credentials(self) -> None:
        with pytest.raises(TypeError):
            pickle.dumps(HMAC)

    def test_copy_refuses_too(self) -> None:
        with pytest.raises(TypeError):
            copy.deepcopy(Secret(API_SECRET))

    def test_json_secret(self) -> None:
        with pytest.raises(TypeError) as info:
            json.dumps(Secret(API_SECRET))
        assert_redacted(str(info.value))

    def test_json_asdict(self) -> None:
        with pytest.raises(TypeError):
            json.dumps(attrs.asdict(HMAC))


class TestCredentialsShape:
    """Credentials need an API key and either an HMAC secret or an RSA key."""

    def test_needs_a_signing_secret(self) -> None:
        with pytest.raises(ValueError, match="api_secret"):
            Credentials(api_key=API_KEY)

    def test_strings_become_secrets(self) -> None:
        assert isinstance(HMAC.api_key, Secret)
        assert isinstance(HMAC.api_secret, Secret)
        assert HMAC.private_key is None
        assert isinstance(RSA.private_key_passphrase, Secret)

    def test_hint_shows_no_more_than_four_characters(self) -> None:
        hint = Secret(API_KEY).hint()
        assert API_KEY[:5] not in hint
        assert Secret("short").hint() == "***"
