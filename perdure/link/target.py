"""Loading a handler from a target string: `path/to/file.py:func` or `package.module:func`.

A file is imported the way the AWS Lambda Python runtime imports a handler: its folder
first on `sys.path` (so sibling imports work from any working directory) and the module
named after the file, so `docflow.py` is the module `docflow`. Error types, pickled
values and logger names then read `docflow.TransientOCRError`, as on Lambda and as the
official SDK records them. A module path is imported normally (the working directory is
on `sys.path`, as for `python -m`).

One process has one module per name. Loading a file whose name is already taken by
another module (a second `basic.py` from another folder, or a name of the standard
library or of an installed package, which the file must not shadow for the rest of the
process) imports it under a private name, `_perdure_target_<stem>_<hash>`, and logs a
warning: that handler works, but its error types name the private module. Run it in its
own process (process isolation) to get Lambda's names; the conformance runner does so by
itself (`Target.is_module_name_held_by_another_file`). A file named like an installed
module keeps the private name in any process: on Lambda it would shadow that module.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from perdure.wire.errors import PerdureError

logger = logging.getLogger("perdure.link")


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
        if function.isdigit():
            raise TargetError(
                f"target {text!r} is a host and a port, not a module and a function: a remote"
                f" function is given by its URL, http://{text}"
            )
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

    @property
    def module_name(self) -> str:
        """The module a file target is imported as when the name is free (Lambda's name)."""
        return Path(self.module).stem if self.is_file else self.module

    def is_module_name_held_by_another_file(self) -> bool:
        """Whether another file loaded in this process holds this file target's module name.

        Such a target is imported under a private name here, and under its own name in a
        fresh process. (A name of an installed module is private in any process.)
        """
        return self.is_file and _owner_of(Path(self.module)) == "another file"

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


def _is_module_of(module: ModuleType, path: Path) -> bool:
    origin = getattr(module, "__file__", None)
    try:
        return origin is not None and Path(origin).resolve() == path
    except OSError:
        return False


def _shadows_installed(path: Path) -> bool:
    """Whether the file's module name is a standard-library or installed module's."""
    name = path.stem
    if name in sys.builtin_module_names or name in sys.stdlib_module_names:
        return True
    elsewhere = [entry for entry in sys.path if entry and Path(entry).resolve() != path.parent]
    try:
        spec = importlib.machinery.PathFinder.find_spec(name, elsewhere)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None and Path(spec.origin).resolve() != path


def _owner_of(path: Path) -> str:
    """Who holds the module name of the file at `path`.

    "this file", "free", "installed" (a standard-library or installed module the file must
    not shadow) or "another file" (another module loaded in this process).
    """
    loaded = sys.modules.get(path.stem)
    if loaded is not None and _is_module_of(loaded, path):
        return "this file"
    if _shadows_installed(path):
        return "installed"
    return "free" if loaded is None else "another file"


def _load_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise TargetError(f"no such file: {path}")
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    owner = _owner_of(path)
    if owner == "this file":
        return sys.modules[path.stem]
    name = path.stem
    if owner in ("installed", "another file"):
        name = f"_perdure_target_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"
        if name in sys.modules:
            return sys.modules[name]
        logger.warning(
            "module name %r is taken in this process, so %s is imported as %r: its error types "
            "and pickled values name that module; run it in its own process for Lambda's names",
            path.stem,
            path,
            name,
        )
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
