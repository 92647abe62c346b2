"""The meta-path finder and alias modules behind `perdure.compat`."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence
from typing import Any

OFFICIAL_PACKAGE = "aws_durable_execution_sdk_python"

# official submodule -> perdure modules to search first (the top-level package comes last)
SUBMODULE_TARGETS: dict[str, tuple[str, ...]] = {
    "": (),
    "config": ("perdure.sdk.config",),
    "context": ("perdure.sdk.context",),
    "execution": ("perdure.sdk.execution",),
    "retries": ("perdure.sdk.retries",),
    "waits": ("perdure.sdk.waits",),
    "serdes": ("perdure.sdk.serdes",),
    "exceptions": ("perdure.sdk.errors",),
    "types": ("perdure.sdk.types",),
    "plugin": ("perdure.sdk.plugin",),
    "plugin_discovery": ("perdure.sdk.plugin_discovery",),
    "concurrency": ("perdure.sdk.concurrency",),
    "concurrency.models": ("perdure.sdk.concurrency.models", "perdure.sdk.concurrency"),
    "lambda_service": ("perdure.wire.types", "perdure.wire.service"),
    "identifier": ("perdure.sdk.identifier",),
    "logger": ("perdure.sdk.logger",),
    "state": ("perdure.sdk.state",),
}
# official packages (they have submodules)
_PACKAGES = {"", "concurrency", "operation"}


def _import_optional(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


class _AliasModule(types.ModuleType):
    """A module whose attributes come from perdure modules, looked up on first use."""

    _perdure_targets: tuple[str, ...]

    def _perdure_modules(self) -> list[types.ModuleType]:
        modules = [m for m in (_import_optional(n) for n in self._perdure_targets) if m is not None]
        top = importlib.import_module("perdure")
        return [*modules, top]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name != "__all__":
            raise AttributeError(name)
        for module in self._perdure_modules():
            if hasattr(module, name):
                value = getattr(module, name)
                if name != "__all__":
                    setattr(self, name, value)
                return value
        raise AttributeError(
            f"module {self.__name__!r} has no attribute {name!r} (perdure does not provide it)"
        )

    def __dir__(self) -> list[str]:
        names: set[str] = set(super().__dir__())
        for module in self._perdure_modules():
            names.update(getattr(module, "__all__", [n for n in dir(module) if not n.startswith("_")]))
        return sorted(names)


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, submodule: str) -> None:
        self.submodule = submodule

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _AliasModule(spec.name)
        module._perdure_targets = SUBMODULE_TARGETS.get(self.submodule, (f"perdure.sdk.{self.submodule}",))
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__doc__ = f"perdure alias of {module.__name__} (see perdure.compat)."


class AliasFinder(importlib.abc.MetaPathFinder):
    """Finds `aws_durable_execution_sdk_python[.x]` and returns perdure alias modules."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != OFFICIAL_PACKAGE and not fullname.startswith(OFFICIAL_PACKAGE + "."):
            return None
        submodule = fullname[len(OFFICIAL_PACKAGE) + 1 :]
        is_package = submodule in _PACKAGES
        spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(submodule), is_package=is_package)
        if is_package:
            spec.submodule_search_locations = []
        return spec


def _find() -> AliasFinder | None:
    for finder in sys.meta_path:
        if isinstance(finder, AliasFinder):
            return finder
    return None


def is_installed() -> bool:
    return _find() is not None


def install() -> None:
    """Answer imports of the official SDK with perdure (idempotent)."""
    if _find() is None:
        sys.meta_path.insert(0, AliasFinder())


def uninstall() -> None:
    """Remove the finder and forget the alias modules already imported."""
    finder = _find()
    if finder is not None:
        sys.meta_path.remove(finder)
    for name in [n for n in sys.modules if n == OFFICIAL_PACKAGE or n.startswith(OFFICIAL_PACKAGE + ".")]:
        del sys.modules[name]
