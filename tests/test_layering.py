"""The import rule, read from the source with `ast`: sdk -> wire <- engine, tools -> everything.

    perdure.wire     imports the standard library only
    perdure.sdk      imports wire (+ stdlib); boto3/botocore only inside functions
    perdure.engine   imports wire (+ stdlib); its PostgreSQL store (perdure.engine.store.postgres,
                     and pg_workers, which only the store imports) also imports psycopg (the
                     `postgres` extra), and other modules import that store only inside
                     functions, so the engine runs without the extra
    tools            (cli, link, testing, server, compat, console, __main__) may import anything
    nobody           imports a tool, except another tool
    perdure          (__init__) re-exports the SDK and exposes nothing from the engine

`importlib.import_module("...")` / `__import__("...")` with a constant name count as
imports. A new top-level subpackage must be classified below before the test passes.
"""

from __future__ import annotations

import ast
import importlib
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "perdure"

CORE = {"wire", "sdk", "engine"}
TOOLS = {"cli", "link", "testing", "server", "compat", "console", "__main__"}
LAZY_ONLY = {"boto3", "botocore"}
"""Optional dependencies the SDK may import only where they are used (inside a function)."""

DRIVERS: dict[str, set[str]] = {
    "perdure.engine.store.postgres": {"psycopg"},
    "perdure.engine.store.pg_workers": {"psycopg"},
}
"""Modules of an optional backend and the third-party driver each may import; anything else
(but another module of the backend) imports such a module only inside a function (`lazy`)."""

ALLOWED: dict[str, set[str]] = {
    "wire": {"wire"},
    "sdk": {"sdk", "wire"},
    "engine": {"engine", "wire"},
    "__init__": {"sdk", "wire"},
}


@dataclass(frozen=True)
class Import:
    module: str
    """Absolute dotted name."""
    line: int
    lazy: bool
    """Inside a function body or an `if TYPE_CHECKING:` block."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(importer: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


class _Collector(ast.NodeVisitor):
    def __init__(self, name: str, is_package: bool) -> None:
        self.name, self.is_package = name, is_package
        self.depth = 0
        self.found: list[Import] = []

    def _lazy_block(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _lazy_block

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        is_type_checking = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        )
        if not is_type_checking:
            self.generic_visit(node)
            return
        self.depth += 1
        for child in node.body:
            self.visit(child)
        self.depth -= 1
        for child in node.orelse:
            self.visit(child)

    def _add(self, module: str, node: ast.AST) -> None:
        self.found.append(Import(module, getattr(node, "lineno", 0), self.depth > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _resolve(self.name, self.is_package, node.level, node.module)
        self._add(base, node)
        # `from perdure import engine` imports a subpackage: record it too.
        for alias in node.names:
            if base == "perdure" or base.startswith("perdure."):
                candidate = f"{base}.{alias.name}"
                parts = candidate.split(".")
                if (ROOT.joinpath(*parts).is_dir()) or ROOT.joinpath(*parts).with_suffix(".py").exists():
                    self._add(candidate, node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        called = (
            func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        )
        if called in ("import_module", "__import__") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self._add(first.value, node)
        self.generic_visit(node)


def imports_of(path: Path) -> list[Import]:
    collector = _Collector(module_name(path), path.name == "__init__.py")
    collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return collector.found


def layer_of(module: str) -> str | None:
    """`perdure.sdk.context` -> `sdk`; `perdure` -> `__init__`; non-perdure -> None."""
    parts = module.split(".")
    if parts[0] != "perdure":
        return None
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def violations_of(path: Path) -> list[str]:
    importer = module_name(path)
    layer = layer_of(importer)
    where = path.relative_to(ROOT)
    out: list[str] = []
    for imp in imports_of(path):
        target_layer = layer_of(imp.module)
        top = imp.module.split(".")[0]
        if layer in TOOLS:
            continue
        if top in DRIVERS.get(importer, set()):
            continue
        if imp.module in DRIVERS and not imp.lazy and importer not in DRIVERS:
            out.append(
                f"{where}:{imp.line}: {importer} imports {imp.module} at module level "
                "(an optional backend is imported only inside the function that uses it)"
            )
            continue
        if target_layer is None:
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            if layer == "sdk" and top in LAZY_ONLY and imp.lazy:
                continue
            if layer == "sdk" and top in LAZY_ONLY:
                out.append(
                    f"{where}:{imp.line}: {importer} imports {imp.module} at module level "
                    f"(the SDK may import boto3/botocore only inside the function that uses it)"
                )
            else:
                out.append(
                    f"{where}:{imp.line}: {importer} imports third-party {imp.module} "
                    f"({layer} may import the standard library only)"
                )
            continue
        if target_layer in TOOLS:
            out.append(
                f"{where}:{imp.line}: {importer} imports the tool {imp.module} (nothing imports the tools)"
            )
            continue
        allowed = ALLOWED.get(layer or "", set())
        if target_layer == "__init__" and layer != "__init__":
            out.append(
                f"{where}:{imp.line}: {importer} imports the top-level package perdure "
                f"({layer} must import its own layer or wire directly)"
            )
        elif target_layer != "__init__" and target_layer not in allowed:
            out.append(
                f"{where}:{imp.line}: {importer} imports {imp.module} "
                f"({layer} may import only {', '.join(sorted(allowed))})"
            )
    return out


# ---------------------------------------------------------------------------- tests


def test_every_subpackage_is_classified() -> None:
    names = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if (p.is_dir() and p.name != "__pycache__" and any(p.rglob("*.py"))) or p.suffix == ".py"
    }
    unknown = names - CORE - TOOLS - {"__init__"}
    assert not unknown, f"classify new perdure subpackages in tests/test_layering.py: {sorted(unknown)}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_the_right_way(path: Path) -> None:
    problems = violations_of(path)
    assert not problems, "\n".join(problems)


def test_top_level_package_exposes_nothing_from_the_engine() -> None:
    """No object reachable as `perdure.X` comes from the engine.

    Submodule attributes (`perdure.engine` appears on the package once anything imports
    it) are set by the import system, not exposed by `__init__`; the import rule above
    already forbids `__init__` from importing the engine.
    """
    perdure = importlib.import_module("perdure")
    leaked = sorted(
        name
        for name, value in vars(perdure).items()
        if not isinstance(value, types.ModuleType)
        and str(getattr(value, "__module__", "")).startswith("perdure.engine")
    )
    assert not leaked, f"perdure exposes engine objects: {leaked}"
    assert not any(str(name).startswith("perdure.engine") for name in getattr(perdure, "__all__", ()))


# ----------------------------------------------------- the checker itself (on samples)


def _check(tmp_path: Path, rel: str, source: str) -> list[str]:
    global ROOT
    file = tmp_path / rel
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(source)
    saved, ROOT = ROOT, tmp_path
    try:
        return violations_of(file)
    finally:
        ROOT = saved


@pytest.mark.parametrize(
    ("rel", "source", "fragment"),
    [
        ("perdure/wire/x.py", "import yaml\n", "third-party yaml"),
        ("perdure/wire/x.py", "from perdure.sdk import context\n", "wire may import only wire"),
        ("perdure/sdk/x.py", "from ..engine import service\n", "imports perdure.engine"),
        ("perdure/sdk/x.py", "import boto3\n", "at module level"),
        ("perdure/engine/x.py", "from perdure.sdk.serdes import JsonSerDes\n", "engine may import only"),
        ("perdure/engine/x.py", "import importlib\nimportlib.import_module('perdure.testing')\n", "the tool"),
        ("perdure/sdk/x.py", "from perdure import testing\n", "the tool perdure.testing"),
        ("perdure/__init__.py", "from .engine import Engine\n", "__init__ may import only"),
        ("perdure/engine/store/sqlite.py", "import psycopg\n", "third-party psycopg"),
        ("perdure/engine/store/x.py", "from .postgres import PostgresStore\n", "at module level"),
    ],
)
def test_checker_flags_wrong_arrows(tmp_path: Path, rel: str, source: str, fragment: str) -> None:
    for pkg in ("sdk", "engine", "wire", "testing"):
        (tmp_path / "perdure" / pkg).mkdir(parents=True, exist_ok=True)
    problems = _check(tmp_path, rel, source)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    ("rel", "source"),
    [
        ("perdure/sdk/x.py", "from __future__ import annotations\nimport json\nfrom ..wire import types\n"),
        ("perdure/sdk/x.py", "def client():\n    import boto3\n    return boto3.client('lambda')\n"),
        ("perdure/sdk/x.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import botocore\n"),
        (
            "perdure/engine/store/x.py",
            "import sqlite3\nfrom ...wire.types import Operation\nfrom .. import clock\n",
        ),
        (
            "perdure/cli/x.py",
            "import yaml\nfrom perdure.engine import Engine\nfrom perdure.testing import x\n",
        ),
        ("perdure/engine/store/postgres.py", "import psycopg\nfrom psycopg import sql\n"),
        ("perdure/engine/store/x.py", "def open_it():\n    from .postgres import PostgresStore\n"),
    ],
)
def test_checker_accepts_right_arrows(tmp_path: Path, rel: str, source: str) -> None:
    assert _check(tmp_path, rel, source) == []
