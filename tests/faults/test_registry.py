"""The fault registry must cover every row in scope, and name only tests that exist.

A registry that names a renamed or deleted test would claim coverage that is
gone, so the node ids are checked against what pytest really collects. The
collection runs in-process, once, over just the files the registry names (plus
every row-scenario file, to find tests the registry forgot).
"""

from __future__ import annotations

import functools
from pathlib import Path

from tests.registry_support import (
    ROOT,
    Collected,
    all_xfail_rows,
    collect_registry,
    missing_entries,
    rows_without_tests,
    unregistered_scenarios,
    wrong_row_docstrings,
)

from .registry import PLANNED, REGISTRY, ROWS

HERE = Path(__file__).resolve().parent
#: Where the row scenarios live: every test under it must be registered.
SCENARIOS = "tests/faults/test_rows_"


@functools.cache
def collected() -> Collected:
    """Collect the registry's files (and the row scenarios) in-process."""
    return collect_registry(
        REGISTRY, *(str(p.relative_to(ROOT)) for p in HERE.glob("test_rows_*.py"))
    )


def test_every_row_in_scope_has_an_entry() -> None:
    """Rows 8-36 and 45-53 each name at least one test and say what the row is."""
    assert sorted(REGISTRY) == sorted(ROWS)
    assert rows_without_tests(REGISTRY, ROWS) == []


def test_every_entry_names_a_collected_test() -> None:
    """A renamed or deleted test cannot keep counting as coverage."""
    found = collected()
    assert found.exit_code == 0, "collecting the registry's files failed"
    assert missing_entries(REGISTRY, found) == []


def test_every_row_scenario_is_registered() -> None:
    """A scenario in ``test_rows_*.py`` that the registry forgot is coverage nobody counts."""
    assert unregistered_scenarios(REGISTRY, collected(), SCENARIOS) == []


def test_row_scenarios_say_which_row_they_prove() -> None:
    """Each scenario's docstring starts with "Row N:" for a row it is registered under."""
    assert wrong_row_docstrings(REGISTRY, collected(), SCENARIOS) == []


def test_planned_rows_are_the_rows_without_a_passing_test() -> None:
    """The rows documented as planned are exactly those whose tests are all xfail.

    When a feature lands and its strict xfail starts passing, the suite fails
    until the mark is removed; this test then asks for PLANNED and
    docs/failure-modes.md to be updated too.
    """
    assert all_xfail_rows(REGISTRY, collected()) == set(PLANNED)
