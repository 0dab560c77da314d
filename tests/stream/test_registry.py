"""The stream registry must cover rows 37-44, and name only tests that exist.

A registry that names a renamed or deleted test would claim coverage that is
gone, so its node ids are checked against what pytest really collects: the
registry's files are collected in-process, once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

import attrs
import pytest

from .registry import REGISTRY, ROWS

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = "tests/stream/test_rows.py"


@attrs.frozen(kw_only=True)
class Collected:
    """What pytest collected: each node id, whether it is an expected failure, its docstring."""

    exit_code: int
    xfail: dict[str, bool]
    docs: dict[str, str]


class _Recorder:
    """A pytest plugin that keeps the collected items."""

    def __init__(self) -> None:
        self.items: list[pytest.Item] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Remember every item."""
        self.items = list(session.items)


@functools.cache
def collected() -> Collected:
    """Collect the registry's files (and the row scenarios) in-process."""
    files = {entry.split("::")[0] for row in REGISTRY.values() for entry in row.tests}
    files.add(SCENARIOS)
    recorder = _Recorder()
    exit_code = pytest.main(
        [
            "--collect-only",
            "-qq",
            "--assert=plain",  # the outer run already imported (and rewrote) these modules
            f"--rootdir={ROOT}",
            "-c",
            str(ROOT / "pyproject.toml"),
            *sorted(str(ROOT / f) for f in files),
        ],
        plugins=[recorder],
    )
    return Collected(
        exit_code=int(exit_code),
        xfail={i.nodeid: i.get_closest_marker("xfail") is not None for i in recorder.items},
        docs={i.nodeid: (getattr(i, "obj", None).__doc__ or "").strip() for i in recorder.items},
    )


def matches(entry: str, node_ids: Iterable[str]) -> list[str]:
    """Collected node ids an entry stands for (all parametrizations when it has none)."""
    return [n for n in node_ids if n == entry or n.startswith(f"{entry}[")]


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
