"""The command line's one-line fault spec: what parses, what does not, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trio_fapi.sim import (
    ORDER_ROUTES,
    SIGNED_ROUTES,
    FaultKind,
    FaultPlan,
    FaultSpecError,
    FaultStep,
    format_fault_spec,
    parse_fault_spec,
)

GOOD = [
    ("", FaultPlan()),
    ("none", FaultPlan()),
    (
        "seed=7,p503unknown=0.05,pdrop=0.05,plost=0.05,pdelay=0.05",
        FaultPlan(seed=7, p_503_unknown=0.05, p_drop=0.05, p_lost=0.05, p_delay=0.05),
    ),
    (" seed = 3 , pcorrupt = 0.5 ", FaultPlan(seed=3, p_corrupt=0.5)),
    ("pcancelrace=1", FaultPlan(p_cancel_race=1.0)),
    ("pdelay=0.1,delay_s=12.5", FaultPlan(p_delay=0.1, delay_s=12.5)),
    ("skew_ms=-2500", FaultPlan(skew_ms=-2500)),
    ("query_lag_ms=3000", FaultPlan(query_lag_ms=3000)),
    ("routes=signed,pdrop=0.2", FaultPlan(p_drop=0.2, routes=SIGNED_ROUTES)),
    ("routes=orders", FaultPlan(routes=ORDER_ROUTES)),
    ("pdrop=1e-2", FaultPlan(p_drop=0.01)),
]

BAD = [
    ("pdrop", "not key=value"),
    ("=0.1", "not key=value"),
    ("pdrop=0.1,,plost=0.1", "not key=value"),
    ("pdorp=0.1", "unknown key 'pdorp'"),
    ("pdrop=0.1,pdrop=0.2", "given twice"),
    ("pdrop=lots", "pdrop='lots' is not a number"),
    ("pdrop=nan", "is not a number"),
    ("seed=1.5", "seed='1.5' is not an integer"),
    ("skew_ms=1s", "is not an integer"),
    ("pdrop=1.2", "p_drop must be a probability"),
    ("plost=-0.1", "p_lost must be a probability"),
    ("pdrop=0.6,plost=0.6", "sum to 1.2"),
    ("delay_s=-1", "delay_s must be"),
    ("delay_s=inf", "is not a number"),
    ("query_lag_ms=-5", "query_lag_ms must be"),
    ("routes=everything", "routes must be one of"),
]


class TestParse:
    """A spec names a plan's seed, probabilities, delay, skew, lag and routes."""

    @pytest.mark.parametrize(("spec", "plan"), GOOD, ids=[s or "empty" for s, _ in GOOD])
    def test_good_specs(self, spec: str, plan: FaultPlan) -> None:
        assert parse_fault_spec(spec) == plan

    @pytest.mark.parametrize(("spec", "reason"), BAD, ids=[s for s, _ in BAD])
    def test_bad_specs_say_what_is_wrong(self, spec: str, reason: str) -> None:
        with pytest.raises(FaultSpecError) as caught:
            parse_fault_spec(spec)
        assert reason in str(caught.value)
        assert repr(spec) in str(caught.value)
        assert isinstance(caught.value, ValueError)

    def test_the_issue_example_sets_four_probabilities(self) -> None:
        plan = parse_fault_spec("seed=7,p503unknown=0.05,pdrop=0.05,plost=0.05,pdelay=0.05")
        assert dict(plan.probabilities()) == {
            FaultKind.DROP: 0.05,
            FaultKind.LOST: 0.05,
            FaultKind.UNKNOWN_503: 0.05,
            FaultKind.DELAY: 0.05,
            FaultKind.CORRUPT: 0.0,
            FaultKind.CANCEL_RACE: 0.0,
        }
        assert plan.routes == ORDER_ROUTES
        assert plan.steps == ()


probability = st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.125, 1 / 7])
plans = st.builds(
    FaultPlan,
    seed=st.integers(-(2**40), 2**40),
    p_drop=probability,
    p_lost=probability,
    p_503_unknown=probability,
    p_delay=probability,
    p_corrupt=st.sampled_from([0.0, 0.05]),
    p_cancel_race=st.sampled_from([0.0, 0.05]),
    delay_s=st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
    skew_ms=st.integers(-(10**7), 10**7),
    query_lag_ms=st.integers(0, 10**7),
    routes=st.sampled_from([ORDER_ROUTES, SIGNED_ROUTES]),
)


class TestRoundTrip:
    """Every plan a spec can express survives formatting and parsing."""

    @given(plan=plans)
    def test_format_then_parse_is_identity(self, plan: FaultPlan) -> None:
        assert parse_fault_spec(format_fault_spec(plan)) == plan

    def test_default_plan_formats_as_none(self) -> None:
        assert format_fault_spec(FaultPlan()) == "none"

    def test_scripted_steps_have_no_spec(self) -> None:
        with pytest.raises(ValueError, match="scripted"):
            format_fault_spec(FaultPlan.scripted(FaultStep(fault=FaultKind.DROP)))

    def test_custom_routes_have_no_spec(self) -> None:
        plan = FaultPlan(routes=frozenset({("POST", "/fapi/v1/order")}))
        with pytest.raises(ValueError, match="routes"):
            format_fault_spec(plan)
