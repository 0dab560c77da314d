"""The stream registry must cover rows 37-44, and name only tests that exist.

A registry that names a renamed or deleted test would claim coverage that is
gone, so its node ids are checked against what pytest really collects: the
registry's files are collected in-process, once.
"""

from __future__ import annotations

import functools

from tests.registry_support import (
    Collected,
    all_xfail_rows,
    collect_registry,
    missing_entries,
    rows_without_tests,
    unregistered_scenarios,
    wrong_row_docstrings,
)

from .registry import REGISTRY, ROWS

SCENARIOS = "tests/stream/test_rows.py"


@functools.cache
def collected() -> Collected:
    """Collect the registry's files (and the row scenarios) in-process."""
    return collect_registry(REGISTRY, SCENARIOS)


def test_every_stream_row_has_an_entry() -> None:
    """Rows 37-44 each say what goes wrong and name at least one test."""
    assert sorted(REGISTRY) == list(ROWS) == list(range(37, 45))
    assert rows_without_tests(REGISTRY, ROWS) == []


def test_every_entry_names_a_collected_test() -> None:
    """A renamed or deleted test cannot keep counting as coverage."""
    found = collected()
    assert found.exit_code == 0, "collecting the registry's files failed"
    assert missing_entries(REGISTRY, found) == []


def test_every_row_has_a_test_expected_to_pass() -> None:
    """Known bugs are strict xfails; a row proven only by expected failures is not covered."""
    assert all_xfail_rows(REGISTRY, collected()) == set()


def test_every_row_scenario_is_registered() -> None:
    """A scenario in ``test_rows.py`` the registry forgot is coverage nobody counts."""
    assert unregistered_scenarios(REGISTRY, collected(), f"{SCENARIOS}::") == []


def test_row_scenarios_say_which_row_they_prove() -> None:
    """Each scenario's docstring starts with "Row N:" for the row it is registered under."""
    assert wrong_row_docstrings(REGISTRY, collected(), f"{SCENARIOS}::") == []
