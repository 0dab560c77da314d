"""Layering is enforced: protocol is pure, actors read no wall clock (style.md point 16)."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import trio_fapi.protocol

PACKAGE_ROOT = Path(trio_fapi.protocol.__path__[0]).resolve().parent
PROTOCOL_DIR = PACKAGE_ROOT / "protocol"
ACTORS_DIR = PACKAGE_ROOT / "actors"
PROTOCOL = "trio_fapi.protocol"
THIRD_PARTY_ALLOWED = frozenset({"attrs"})


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _RuntimeImports(ast.NodeVisitor):
    """Collects absolute names of imports that run at runtime (skips ``if TYPE_CHECKING:``)."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.found: list[tuple[int, str]] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found.extend((node.lineno, alias.name) for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0:
            self.found.append((node.lineno, node.module or ""))
            return
        base = self.package.split(".")
        if node.level > 1:
            base = base[: len(base) - (node.level - 1)]
        self.found.append((node.lineno, ".".join([*base, *([node.module] if node.module else [])])))


def runtime_imports(source: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    package = module if is_package else module.rpartition(".")[0]
    visitor = _RuntimeImports(package)
    visitor.visit(ast.parse(source))
    return visitor.found


def is_allowed(name: str) -> bool:
    top = name.partition(".")[0]
    return (
        top in sys.stdlib_module_names
        or top in THIRD_PARTY_ALLOWED
        or name == PROTOCOL
        or name.startswith(PROTOCOL + ".")
    )


def protocol_files() -> Iterator[Path]:
    return iter(sorted(PROTOCOL_DIR.rglob("*.py")))


class TestImportChecker:
    """The import checker itself sees through relative imports and TYPE_CHECKING blocks."""

    def test_flags_forbidden_imports(self) -> None:
        source = (
            "from __future__ import annotations\n"
            "import typing\n"
            "from typing import TYPE_CHECKING\n"
            "import attrs\n"
            "from .enums import OrderSide\n"
            "if TYPE_CHECKING:\n"
            "    import trio\n"
            "else:\n"
            "    import httpx\n"
            "if typing.TYPE_CHECKING:\n"
            "    from ..actors import limiter\n"
            "def f():\n"
            "    import trio_fapi.sim\n"
            "from .. import actors\n"
        )
        found = runtime_imports(source, "trio_fapi.protocol.example")
        bad = [name for _, name in found if not is_allowed(name)]
        assert bad == ["httpx", "trio_fapi.sim", "trio_fapi"]
        assert "trio_fapi.protocol.enums" in [name for _, name in found]


class TestProtocolIsPure:
    """Protocol modules import only the stdlib, attrs and protocol itself at runtime."""

    def test_there_are_modules(self) -> None:
        assert len(list(protocol_files())) >= 10

    @pytest.mark.parametrize("path", list(protocol_files()), ids=lambda p: p.name)
    def test_runtime_imports(self, path: Path) -> None:
        found = runtime_imports(
            path.read_text(encoding="utf-8"),
            module_name(path),
            is_package=path.name == "__init__.py",
        )
        bad = [f"{path.name}:{line}: {name}" for line, name in found if not is_allowed(name)]
        assert bad == []


class TestActorsReadNoWallClock:
    """No file under trio_fapi/actors calls time.time(); timestamps come from an injected clock."""

    def test_no_time_time(self) -> None:
        files = sorted(ACTORS_DIR.rglob("*.py"))
        assert files
        offenders = [
            f"{path.relative_to(PACKAGE_ROOT)}:{number}"
            for path in files
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if "time.time(" in line
        ]
        assert offenders == []
