"""What the fault registries' meta-tests share: collect node ids in-process, match entries.

A registry that names a renamed or deleted test would claim coverage that is
gone, so node ids are checked against what pytest really collects. The
collection runs in-process over just the files given.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import attrs
import pytest

__all__ = ["ROOT", "Collected", "collect", "matches"]

ROOT = Path(__file__).resolve().parents[1]


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
