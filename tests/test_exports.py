"""Public surfaces are explicit: one sorted ``__all__`` per package (style.md point 16)."""

from __future__ import annotations
import __future__

import importlib
import types

import pytest

#: Packages whose ``__init__`` may define a public surface; those without ``__all__`` are skipped.
PACKAGES = [
    "trio_fapi",
    "trio_fapi.protocol",
    "trio_fapi.actors",
    "trio_fapi.sim",
    "trio_fapi.testing",
]


def exported(package: str) -> list[str]:
    module = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    if names is None:
        pytest.skip(f"{package} defines no __all__")
    return list(names)


class TestAll:
    """Each package's __all__ is sorted, unique, public, and names things that exist."""

    @pytest.mark.parametrize("package", PACKAGES)
    def test_sorted(self, package: str) -> None:
        names = exported(package)
        assert names == sorted(names)

    @pytest.mark.parametrize("package", PACKAGES)
    def test_unique_and_public(self, package: str) -> None:
        names = exported(package)
        assert len(names) == len(set(names))
        assert all(isinstance(name, str) and not name.startswith("_") for name in names)

    @pytest.mark.parametrize("package", PACKAGES)
    def test_every_name_exists(self, package: str) -> None:
        names = exported(package)
        module = importlib.import_module(package)
        missing = [name for name in names if not hasattr(module, name)]
        assert missing == []

    @pytest.mark.parametrize("package", PACKAGES)
    def test_nothing_public_is_left_out(self, package: str) -> None:
        names = set(exported(package))
        module = importlib.import_module(package)
        public = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and not isinstance(value, types.ModuleType | __future__._Feature)
        }
        assert sorted(public - names) == []

    def test_protocol_is_checked(self) -> None:
        assert "OrderRequest" in exported("trio_fapi.protocol")
