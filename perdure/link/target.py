"""Loading a handler from a target string: `path/to/file.py:func` or `package.module:func`.

A file path is imported under a private module name with its folder put first on
`sys.path`, so the handler's sibling imports work from any working directory. A module
path is imported normally (the working directory is on `sys.path`, as for `python -m`).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from perdure.wire.errors import PerdureError


class TargetError(PerdureError, ValueError):
    """A target that cannot be parsed, found or imported."""


@dataclass(frozen=True)
class Target:
    """A parsed target: a file or a module, and the attribute to call."""

    module: str
    function: str
    is_file: bool

    @classmethod
    def parse(cls, text: str) -> Target:
        module, sep, function = text.rpartition(":")
        if not sep or not module or not function:
            raise TargetError(f"target {text!r} must be 'path/file.py:function' or 'package.module:function'")
        if not function.replace("_", "a").replace(".", "a").isalnum():
            raise TargetError(f"target {text!r}: {function!r} is not a function name")
        is_file = module.endswith(".py") or "/" in module or "\\" in module
        if is_file:
            module = str(Path(module).expanduser().resolve())
        return cls(module=module, function=function, is_file=is_file)

    def __str__(self) -> str:
        return f"{self.module}:{self.function}"

    @property
    def function_name(self) -> str:
        """A Lambda-style function name derived from the target (`[A-Za-z0-9_-]`)."""
        stem = Path(self.module).stem if self.is_file else self.module.rsplit(".", 1)[-1]
        raw = f"{stem}-{self.function}"
        return "".join(c if c.isalnum() or c in "-_" else "-" for c in raw)[:64]

    def load_module(self) -> ModuleType:
        return _load_file(Path(self.module)) if self.is_file else _load_module(self.module)

    def load(self) -> Callable[..., Any]:
        module = self.load_module()
        value: Any = module
        for part in self.function.split("."):
            try:
                value = getattr(value, part)
            except AttributeError:
                raise TargetError(f"{self}: {module.__name__!r} has no attribute {self.function!r}") from None
        if not callable(value):
            raise TargetError(f"{self}: {self.function!r} is not callable")
        return value  # type: ignore[no-any-return]


def _load_module(name: str) -> ModuleType:
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise TargetError(f"cannot import module {name!r}: {exc}") from None
        raise


def _load_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise TargetError(f"no such file: {path}")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"_perdure_target_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_target(text: str) -> Callable[..., Any]:
    """Parse and load a target in one call."""
    return Target.parse(text).load()


def is_durable_handler(function: Callable[..., Any]) -> bool:
    """Whether `@durable_execution` wrapped `function` (Lambda needs it; the local tools do not)."""
    return getattr(function, "__wrapped__", None) is not None


def as_lambda_handler(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` itself if `@durable_execution` already wrapped it, else wrapped now.

    So `perdure run flow.py:handler` also accepts a plain `handler(event, context)`.
    (The decorator keeps the original under `__wrapped__`, as `functools.wraps` does.)
    """
    if is_durable_handler(function):
        return function
    from perdure.sdk.execution import durable_execution

    wrapped: Callable[..., Any] = durable_execution(function)
    return wrapped
