"""Exact numbers at the boundary (faults.md rows 55, 56, 61; part (d) item 7)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from trio_fapi.protocol.errors import InvalidNumber, InvalidOrder
from trio_fapi.protocol.numbers import (
    MAX_WIRE_NUMBER_LEN,
    WIRE_NUMBER,
    fmt,
    parse_wire_amount,
    parse_wire_decimal,
    to_decimal,
)

#: Decimals of every shape: plain, and built from (sign, digits, exponent) so that
#: tiny and huge exponents (the ones ``str()`` prints as ``1E-7``) show up often.
finite_decimals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.builds(
        lambda sign, digits, exponent: Decimal((sign, digits, exponent)),
        st.sampled_from([0, 1]),
        st.lists(st.integers(0, 9), min_size=1, max_size=30).map(tuple),
        st.integers(-60, 60),
    ),
)


class TestToDecimalRefuses:
    """to_decimal refuses inexact, non-finite, non-positive and oddly written input."""

    @pytest.mark.parametrize(
        "value",
        [
            0.1,
            1.0,
            float("nan"),
            float("inf"),
            float("-inf"),
            True,
            False,
            None,
            Decimal("NaN"),
            Decimal("-NaN"),
            Decimal("sNaN"),
            Decimal("Infinity"),
            Decimal("-Infinity"),
            "NaN",
            "nan",
            "sNaN",
            "inf",
            "Infinity",
            "-Infinity",
            "1e-7",
            "1E-7",
            "1.0E-7",
            "1E+3",
            " 1",
            "1 ",
            "1\n",
            "\t1",
            "1 000",
            "1_000",
            "1,5",
            "",
            " ",
            ".5",
            "5.",
            "0x10",
            "\u0661",  # ARABIC-INDIC DIGIT ONE: Decimal() would accept it
            "\uff11",  # FULLWIDTH DIGIT ONE
            b"1",
            Fraction(1, 3),
            complex(1, 0),
            [1],
        ],
        ids=repr,
    )
    def test_bad_input(self, value: object) -> None:
        with pytest.raises(InvalidNumber) as info:
            to_decimal(value, field="quantity")
        assert isinstance(info.value, InvalidOrder)
        assert isinstance(info.value, ValueError)
        assert "quantity" in str(info.value)

    @pytest.mark.parametrize(
        "value",
        [0, -1, Decimal(0), Decimal("-0"), Decimal("0.000"), Decimal("-0.001"), "0", "0.00", "-1"],
        ids=repr,
    )
    def test_zero_and_negative(self, value: object) -> None:
        with pytest.raises(InvalidNumber, match="greater than zero"):
            to_decimal(value, field="price")

    @pytest.mark.parametrize("value", [0, Decimal("0.00"), "0", "-0.5"], ids=repr)
    def test_zero_and_negative_pass_when_not_required_positive(self, value: object) -> None:
        assert to_decimal(value, field="offset", positive=False) == Decimal(str(value))


class TestToDecimalAccepts:
    """to_decimal accepts Decimal, int and fixed-point strings, and keeps them exact."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (Decimal("0.001"), "0.001"),
            (Decimal("1E-7"), "0.0000001"),
            (5, "5"),
            (10**30, "1" + "0" * 30),
            ("0.001", "0.001"),
            ("61250.10", "61250.10"),
            ("007", "7"),
            ("0.1000000000000000000000000000001", "0.1000000000000000000000000000001"),
        ],
        ids=repr,
    )
    def test_exact_input(self, value: object, expected: str) -> None:
        result = to_decimal(value, field="quantity")
        assert isinstance(result, Decimal)
        assert result == Decimal(expected)

    def test_trailing_zeros_survive(self) -> None:
        assert fmt(to_decimal("61250.10", field="price")) == "61250.10"


class TestFmtIsFixedPoint:
    """fmt prints every finite Decimal fixed-point, in the shape Binance accepts."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (Decimal("0.0000001"), "0.0000001"),
            (Decimal("0.00000010"), "0.00000010"),
            (Decimal("1E+5"), "100000"),
            (Decimal("1.5E+3"), "1500"),
            (Decimal("-0"), "0"),
            (Decimal("-0.000"), "0.000"),
            (Decimal("0E-9"), "0.000000000"),
            (Decimal("-12.5"), "-12.5"),
        ],
        ids=str,
    )
    def test_known_traps(self, value: Decimal, expected: str) -> None:
        assert fmt(value) == expected

    @settings(max_examples=500)
    @given(finite_decimals)
    @example(Decimal("1E-60"))
    @example(Decimal("9.99E+60"))
    @example(Decimal("-0E+10"))
    def test_never_exponent_and_round_trips(self, value: Decimal) -> None:
        text = fmt(value)
        assert WIRE_NUMBER.fullmatch(text), text
        assert "E" not in text.upper()
        assert Decimal(text) == value

    @given(finite_decimals.filter(lambda d: d > 0))
    def test_output_is_acceptable_input(self, value: Decimal) -> None:
        assert to_decimal(fmt(value), field="quantity") == value


class TestParseWireDecimal:
    """Numbers from Binance parse from strings (or ints), never from JSON floats."""

    def test_strings_and_ints(self) -> None:
        assert parse_wire_decimal("61250.10", field="price") == Decimal("61250.10")
        assert parse_wire_decimal(3, field="count") == 3

    @pytest.mark.parametrize("value", [1.5, True, None, "abc", "NaN", "Infinity", [1]], ids=repr)
    def test_refuses_the_rest(self, value: object) -> None:
        with pytest.raises(InvalidNumber):
            parse_wire_decimal(value, field="price")


class TestParseWireAmount:
    """Prices and quantities in reports: unsigned fixed-point text, or refused (row 20)."""

    @pytest.mark.parametrize("text", ["0", "0.000", "61250.10", "0.005", "1" * MAX_WIRE_NUMBER_LEN])
    def test_fixed_point_text(self, text: str) -> None:
        assert parse_wire_amount(text, field="qty") == Decimal(text)

    @pytest.mark.parametrize(
        "value",
        [
            "1e999999",
            "1E+2",
            "-0.001",
            "+1",
            "1.",
            ".5",
            " 1",
            "1\n",
            "NaN",
            "\u0661",
            "",
            "1" * (MAX_WIRE_NUMBER_LEN + 1),
            1,
            1.5,
            True,
            None,
            ["1"],
        ],
        ids=repr,
    )
    def test_refuses_the_rest(self, value: object) -> None:
        with pytest.raises(InvalidNumber) as info:
            parse_wire_amount(value, field="executedQty")
        assert info.value.field == "executedQty"

    @pytest.mark.parametrize("value", ["7" * 100_000, "1e" + "9" * 100_000, 10**4000])
    def test_error_never_carries_a_huge_value(self, value: object) -> None:
        with pytest.raises(InvalidNumber) as info:
            parse_wire_amount(value, field="executedQty")
        assert len(str(info.value)) < 120

    @given(finite_decimals.filter(lambda d: d >= 0))
    def test_reads_what_fmt_prints(self, value: Decimal) -> None:
        text = fmt(value)
        if len(text) <= MAX_WIRE_NUMBER_LEN:
            assert parse_wire_amount(text, field="qty") == value
