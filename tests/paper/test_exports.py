"""trio_fapi.paper's public surface is explicit, like every package's (style.md point 16)."""

from __future__ import annotations

import types

import trio_fapi.paper as paper


def test_all_is_sorted_unique_and_complete() -> None:
    names = list(paper.__all__)
    assert names == sorted(names)
    assert len(names) == len(set(names))
    assert [n for n in names if not hasattr(paper, n)] == []
    public = {
        name
        for name, value in vars(paper).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert sorted(public - set(names)) == []
