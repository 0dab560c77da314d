"""What the fault registries share: their row type, and the checks their meta-tests make.

A registry maps catalogue rows (faults.md, part b) to the pytest node ids that
prove them. A registry that names a renamed or deleted test would claim
coverage that is gone, so node ids are checked against what pytest really
collects; the collection runs in-process over just the files given. A
scenario the registry forgot, or one whose docstring names another row, is
caught too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import attrs
import pytest

__all__ = [
    "ROOT",
    "Collected",
    "FaultRow",
    "Registry",
    "all_xfail_rows",
    "collect",
    "collect_registry",
    "matches",
    "missing_entries",
    "rows_without_tests",
    "unregistered_scenarios",
    "wrong_row_docstrings",
]

ROOT = Path(__file__).resolve().parents[1]


class FaultRow(NamedTuple):
    """One catalogue row: what goes wrong, and where it is tested."""

    summary: str
    tests: tuple[str, ...]


#: Catalogue row number -> its entry.
Registry = Mapping[int, FaultRow]


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


def collect(files: Iterable[str]) -> Collected:
    """Collect ``files`` (paths relative to the repository) in-process."""
    recorder = _Recorder()
    exit_code = pytest.main(
        [
            "--collect-only",
            "-qq",
            # The outer run already imported (and rewrote) everything it needs.
            "--assert=plain",
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


def collect_registry(registry: Registry, *scenario_files: str) -> Collected:
    """Collect the files the registry names, plus ``scenario_files`` (to find forgotten tests)."""
    files = {entry.split("::")[0] for row in registry.values() for entry in row.tests}
    return collect(files | set(scenario_files))


def rows_without_tests(registry: Registry, rows: Iterable[int]) -> list[int]:
    """The ``rows`` that have no entry, no summary, or no test."""
    return [
        row
        for row in rows
        if row not in registry or not registry[row].summary.strip() or not registry[row].tests
    ]


def missing_entries(registry: Registry, found: Collected) -> list[tuple[int, str]]:
    """Entries that name no collected test (a renamed or deleted test)."""
    return [
        (row, entry)
        for row, fault in sorted(registry.items())
        for entry in fault.tests
        if not matches(entry, found.xfail)
    ]


def unregistered_scenarios(registry: Registry, found: Collected, prefix: str) -> list[str]:
    """Collected tests whose node id starts with ``prefix`` that no entry stands for.

    Raises:
        AssertionError: Nothing under ``prefix`` was collected (the prefix is wrong).
    """
    registered = {
        node
        for fault in registry.values()
        for entry in fault.tests
        for node in matches(entry, found.xfail)
    }
    scenarios = [n for n in found.xfail if n.startswith(prefix)]
    assert scenarios, f"no scenario collected under {prefix}"
    return sorted(set(scenarios) - registered)


def wrong_row_docstrings(
    registry: Registry, found: Collected, prefix: str
) -> list[tuple[int, str]]:
    """Scenarios under ``prefix`` whose docstring does not start "Row N:" for a row naming them."""
    return [
        (row, node)
        for row, fault in sorted(registry.items())
        for entry in fault.tests
        for node in matches(entry, found.docs)
        if node.startswith(prefix) and not found.docs[node].startswith(f"Row {row}:")
    ]


def all_xfail_rows(registry: Registry, found: Collected) -> set[int]:
    """Rows every one of whose tests is an expected failure (no passing test proves them)."""
    xfail = found.xfail
    return {
        row
        for row, fault in registry.items()
        if all(xfail[node] for entry in fault.tests for node in matches(entry, xfail))
    }
