"""Checker sanity: deliberately broken engines must fail the fault scenarios.

A suite that passes against a broken engine proves nothing (faults.md R14).
Each mutant here is installed with ``monkeypatch`` at the narrowest seam that
reproduces a bug peers have shipped, without touching the engine's source:

- **blind resend on 503**: :func:`trio_fapi.actors.retry.retryable` says yes to
  every UNKNOWN outcome, idempotent or not, so a placement whose answer was
  lost is sent again (the bug that duplicates orders on a timeout);
- **-2011 read as a failed cancel**: the symbol actor's error-code test no
  longer recognises -2011 "Unknown order sent", so a cancel that lost the race
  with a fill is handled like any refused cancel and the order is reopened.

For each mutant the relevant scenarios run in-process on a fresh
``MockClock``: all of them must pass on the real engine, and at least one must
fail on the mutant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import pytest
import trio
import trio.testing

from trio_fapi.actors import requester, retry, symbol_actor
from trio_fapi.protocol.errors import EngineError
from trio_fapi.protocol.messages import RestFailed
from trio_fapi.protocol.wire import Outcome

# Modules, not names: a test class imported by name would be collected here a second time.
from . import test_randomized as randomized
from . import test_rows_races as races
from . import test_rows_transport as transport

Scenario = Callable[..., Awaitable[None]]


def run_scenario(scenario: Scenario) -> Exception | None:
    """Run one async scenario under a fresh autojump clock; its failure, if any."""
    clock = trio.testing.MockClock(autojump_threshold=0)
    try:
        trio.run(partial(scenario, autojump_clock=clock), clock=clock)
    except Exception as exc:  # an assertion, an engine error, a timeout: all are failures
        return exc
    return None


def run_all(scenarios: dict[str, Scenario]) -> dict[str, Exception | None]:
    """Each scenario's failure (or ``None``), by name."""
    return {name: run_scenario(scenario) for name, scenario in scenarios.items()}


def install_blind_resend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant (a): resend anything whose outcome is unknown, placements included."""
    real = retry.retryable

    def blind(failure: RestFailed, *, idempotent: bool) -> bool:
        if failure.outcome is Outcome.UNKNOWN:
            return True
        return real(failure, idempotent=idempotent)

    monkeypatch.setattr(retry, "retryable", blind)
    monkeypatch.setattr(requester, "retryable", blind)  # the name the requester calls


def install_2011_as_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant (b): -2011 on a cancel is no longer told apart from a plain refusal."""
    real = symbol_actor._is_code

    def blind_to_2011(outcome: EngineError | None, code: int) -> bool:
        return code != symbol_actor._UNKNOWN_ORDER_SENT and real(outcome, code)

    monkeypatch.setattr(symbol_actor, "_is_code", blind_to_2011)


BLIND_RESEND_SCENARIOS: dict[str, Scenario] = {
    "row 8, resting limit": (
        transport.TestRow08AppliedThen503Unknown().test_resting_order_is_found_by_a_query_and_never_resent
    ),
    "row 8, filled market order": (
        transport.TestRow08AppliedThen503Unknown().test_market_order_that_filled_is_not_placed_twice
    ),
    "row 11, 502 page": partial(
        transport.TestRow11GenericServerErrors().test_placement_is_unknown_and_resolved,
        status=502,
        body=b"<html>502 Bad Gateway</html>",
        content_type="text/html",
    ),
    "row 13, read timeout": (
        transport.TestRow13ReadTimeoutAfterWrite().test_engine_deadline_fires_then_the_order_is_found
    ),
    "randomized, seed 1": partial(randomized.test_random_faults_then_heal, seed=1),
}

CANCEL_RACE_SCENARIOS: dict[str, Scenario] = {
    "row 32, race": races.TestRow32FillRacingTheCancel().test_the_cancel_reports_the_fill,
    "row 32, lost look-up": (
        races.TestRow32FillRacingTheCancel().test_a_lost_look_up_is_not_read_as_a_refused_cancel
    ),
    "row 32 + 33, young order": (
        races.TestRow32FillRacingTheCancel().test_a_race_on_a_young_order_is_not_read_as_a_refused_cancel
    ),
}

MUTANTS: dict[str, tuple[Callable[[pytest.MonkeyPatch], None], dict[str, Scenario]]] = {
    "blind-resend-on-503": (install_blind_resend, BLIND_RESEND_SCENARIOS),
    "2011-as-failed-cancel": (install_2011_as_refusal, CANCEL_RACE_SCENARIOS),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_the_scenarios_catch_the_mutant(mutant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scenarios pass on the real engine and at least one fails on the mutant."""
    install, scenarios = MUTANTS[mutant]
    baseline = run_all(scenarios)
    assert {name: exc for name, exc in baseline.items() if exc is not None} == {}
    install(monkeypatch)
    mutated = run_all(scenarios)
    caught = sorted(name for name, exc in mutated.items() if exc is not None)
    assert caught, f"no scenario notices the {mutant} mutant"
