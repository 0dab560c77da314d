"""Binance error codes map to exactly one action each (binance-fapi.md section 5.2)."""

from __future__ import annotations

import pytest

from trio_fapi.protocol.codes import ERROR_ACTIONS, BinanceErrorCode, ErrorAction, action_for

A = ErrorAction


class TestCompleteness:
    """Every BinanceErrorCode member has an action (the meta-test)."""

    @pytest.mark.parametrize("code", list(BinanceErrorCode), ids=lambda c: f"{c.value}-{c.name}")
    def test_every_member_is_classified(self, code: BinanceErrorCode) -> None:
        assert code in ERROR_ACTIONS
        assert isinstance(action_for(code.value), ErrorAction)
        assert action_for(code.value) is ERROR_ACTIONS[code]

    def test_table_has_exactly_the_members(self) -> None:
        assert set(ERROR_ACTIONS) == set(BinanceErrorCode)

    def test_no_aliased_codes(self) -> None:
        # Two names with one value would silently alias; each code is listed once.
        assert len(BinanceErrorCode.__members__) == len(list(BinanceErrorCode))

    def test_codes_are_negative(self) -> None:
        assert all(code.value < 0 for code in BinanceErrorCode)


class TestSpecificActions:
    """The codes the engine's decisions hinge on have the documented class."""

    @pytest.mark.parametrize(
        ("code", "action"),
        [
            (-1006, A.UNKNOWN),
            (-1007, A.UNKNOWN),
            (-1000, A.UNKNOWN),
            (-1003, A.RETRY),
            (-1015, A.RETRY),
            (-1021, A.RETRY),
            (-1008, A.RETRY),
            (-5028, A.RETRY),
            (-2011, A.STATE),
            (-2013, A.STATE),
            (-4116, A.STATE),
            (-2019, A.FAIL),
            (-4120, A.FAIL),
            (-1022, A.FAIL),
            (-4164, A.FAIL),
            (-4015, A.FAIL),
            (-1111, A.FAIL),
            (-4046, A.SUCCESS),
            (-4059, A.SUCCESS),
        ],
        ids=lambda v: str(v.value) if isinstance(v, ErrorAction) else str(v),
    )
    def test_action(self, code: int, action: ErrorAction) -> None:
        assert action_for(code) is action

    @pytest.mark.parametrize("code", [-9999, -1, 0, 12345])
    def test_unlisted_code_fails(self, code: int) -> None:
        assert code not in {c.value for c in BinanceErrorCode}
        assert action_for(code) is A.FAIL

    def test_missing_code_is_unknown(self) -> None:
        assert action_for(None) is A.UNKNOWN
