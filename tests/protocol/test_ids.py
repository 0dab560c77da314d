"""Identifiers as types: symbols and client order ids are legal by construction."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from trio_fapi.protocol.errors import InvalidClientOrderId, UnknownSymbol
from trio_fapi.protocol.ids import CLIENT_ORDER_ID_PATTERN, ClientOrderId, Symbol, VenueOrderId

BTC = Symbol("BTCUSDT")
sessions = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8)
#: Strategy names are free text: unicode, punctuation, whitespace, control characters.
strategies = st.text(max_size=80)
seqs = st.integers(min_value=0, max_value=2**64)


class TestSymbol:
    """A Symbol is Binance's native upper-case name and nothing else."""

    @pytest.mark.parametrize("text", ["BTCUSDT", "1000PEPEUSDT", "ETHUSDT"])
    def test_native_names(self, text: str) -> None:
        assert str(Symbol(text)) == text

    @pytest.mark.parametrize(
        "text",
        [
            "btcusdt",
            "BtcUsdt",
            "BTC/USDT",
            "BTC-USDT",
            "BTC USDT",
            "",
            "B",
            " BTCUSDT",
            "BTCUSDT\n",
        ],
    )
    def test_refuses_other_spellings(self, text: str) -> None:
        with pytest.raises(UnknownSymbol):
            Symbol(text)


class TestClientOrderId:
    """A ClientOrderId always matches Binance's pattern, 1 to 36 legal characters."""

    @pytest.mark.parametrize("text", ["a", "x" * 36, ".:/_-", "AZaz09"])
    def test_legal(self, text: str) -> None:
        assert str(ClientOrderId(text)) == text

    @pytest.mark.parametrize(
        "text",
        ["", "x" * 37, "a b", "a\tb", "a\n", "a+b", "a@b", "a%b", "é", "a\x00"],
        ids=repr,
    )
    def test_illegal(self, text: str) -> None:
        with pytest.raises(InvalidClientOrderId):
            ClientOrderId(text)


class TestDerivedClientOrderId:
    """ClientOrderId.derive is deterministic, always legal, and unique per input."""

    @given(session=sessions, strategy=strategies, seq=seqs)
    @example(session="s", strategy="\ud800 lone surrogate", seq=1)
    @example(session="abcdefgh", strategy="a" * 100, seq=16**20 - 1)
    def test_deterministic_and_legal(self, session: str, strategy: str, seq: int) -> None:
        first = ClientOrderId.derive(session=session, strategy=strategy, symbol=BTC, seq=seq)
        again = ClientOrderId.derive(session=session, strategy=strategy, symbol=BTC, seq=seq)
        assert first == again
        assert len(first.value) <= 36
        assert CLIENT_ORDER_ID_PATTERN.fullmatch(first.value)

    @given(session=sessions, a=strategies, b=strategies, seq=seqs)
    @example(session="s", a="alpha-1", b="alpha1", seq=0)  # same readable tag
    @example(session="s", a="αβγ", b="δεζ", seq=0)  # both tags empty
    def test_differs_by_strategy(self, session: str, a: str, b: str, seq: int) -> None:
        assume(a != b)
        id_a = ClientOrderId.derive(session=session, strategy=a, symbol=BTC, seq=seq)
        id_b = ClientOrderId.derive(session=session, strategy=b, symbol=BTC, seq=seq)
        assert id_a != id_b

    @given(session=sessions, strategy=strategies, a=seqs, b=seqs)
    @example(session="sess1234", strategy="strategy-x", a=2**63, b=2**63 + 1)
    @example(session="sess1234", strategy="strategy-x", a=16**14, b=16**14 + 1)
    def test_differs_by_seq(self, session: str, strategy: str, a: int, b: int) -> None:
        assume(a != b)
        id_a = ClientOrderId.derive(session=session, strategy=strategy, symbol=BTC, seq=a)
        id_b = ClientOrderId.derive(session=session, strategy=strategy, symbol=BTC, seq=b)
        assert id_a != id_b

    @given(a=sessions, b=sessions, strategy=strategies, seq=seqs)
    def test_differs_by_session(self, a: str, b: str, strategy: str, seq: int) -> None:
        assume(a != b)
        id_a = ClientOrderId.derive(session=a, strategy=strategy, symbol=BTC, seq=seq)
        id_b = ClientOrderId.derive(session=b, strategy=strategy, symbol=BTC, seq=seq)
        assert id_a != id_b

    @pytest.mark.parametrize("seq", [16**20, 2**128])
    def test_seq_too_large_for_36_chars_is_refused(self, seq: int) -> None:
        with pytest.raises(InvalidClientOrderId):
            ClientOrderId.derive(session="abcdefgh", strategy="mm", symbol=BTC, seq=seq)

    def test_session_must_be_legal(self) -> None:
        with pytest.raises(InvalidClientOrderId):
            ClientOrderId.derive(session="a b", strategy="mm", symbol=BTC, seq=1)

    def test_differs_by_symbol(self) -> None:
        ids = {
            ClientOrderId.derive(session="s1", strategy="mm", symbol=Symbol(sym), seq=7)
            for sym in ("BTCUSDT", "ETHUSDT", "SOLUSDT")
        }
        assert len(ids) == 3


class TestVenueOrderId:
    """A VenueOrderId wraps Binance's integer orderId."""

    def test_int(self) -> None:
        assert str(VenueOrderId(4082713652)) == "4082713652"

    def test_refuses_text(self) -> None:
        with pytest.raises(TypeError):
            VenueOrderId("4082713652")  # type: ignore[arg-type]
