"""The stream registry must cover rows 37-44, and name only tests that exist.

A registry that names a renamed or deleted test would claim coverage that is
gone, so its node ids are checked against what pytest really collects: the
registry's files are collected in-process, once.
"""

from __future__ import annotations

import functools

from tests.registry_support import Collected, collect, matches

from .registry import REGISTRY, ROWS

SCENARIOS = "tests/stream/test_rows.py"


@functools.cache
def collected() -> Collected:
    """Collect the registry's files (and the row scenarios) in-process."""
    files = {entry.split("::")[0] for row in REGISTRY.values() for entry in row.tests}
    files.add(SCENARIOS)
    return collect(files)


def test_every_stream_row_has_an_entry() -> None:
    """Rows 37-44 each say what goes wrong and name at least one test."""
    assert sorted(REGISTRY) == list(ROWS) == list(range(37, 45))
    for row in ROWS:
        assert REGISTRY[row].summary.strip(), f"row {row} has no summary"
        assert REGISTRY[row].tests, f"row {row} has no test"


def test_every_entry_names_a_collected_test() -> None:
    """A renamed or deleted test cannot keep counting as coverage."""
    found = collected()
    assert found.exit_code == 0, "collecting the registry's files failed"
    missing = [
        (row, entry)
        for row, fault in sorted(REGISTRY.items())
        for entry in fault.tests
        if not matches(entry, found.xfail)
    ]
    assert missing == []


def test_every_row_has_a_test_expected_to_pass() -> None:
    """Known bugs are strict xfails; a row proven only by expected failures is not covered."""
    xfail = collected().xfail
    uncovered = [
        row
        for row, fault in sorted(REGISTRY.items())
        if all(xfail[node] for entry in fault.tests for node in matches(entry, xfail))
    ]
    assert uncovered == []


def test_every_row_scenario_is_registered() -> None:
    """A scenario in ``test_rows.py`` the registry forgot is coverage nobody counts."""
    registered = {
        node
        for fault in REGISTRY.values()
        for entry in fault.tests
        for node in matches(entry, collected().xfail)
    }
    scenarios = [n for n in collected().xfail if n.startswith(f"{SCENARIOS}::")]
    assert scenarios
    assert sorted(set(scenarios) - registered) == []


def test_row_scenarios_say_which_row_they_prove() -> None:
    """Each scenario's docstring starts with "Row N:" for the row it is registered under."""
    docs = collected().docs
    for row, fault in REGISTRY.items():
        for entry in fault.tests:
            for node in matches(entry, docs):
                if node.startswith(f"{SCENARIOS}::"):
                    assert docs[node].startswith(f"Row {row}:"), node
