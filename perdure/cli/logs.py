"""Where the CLI's log records go: `configure_logging`.

`perdure run`, `serve` and `console` show INFO records of perdure's own loggers
(`perdure.*`), of a handler's `context.logger` (the root logger by default) and of the
user's own modules on stderr, and of installed libraries and the standard library only
WARNING and above: httpx's `HTTP Request: ...` lines would otherwise sit among the progress
lines. A logging configuration the user made first (handlers on the root logger, say from
`logging.basicConfig` at the top of the handler's module) wins: nothing is changed then.

Imports only the stdlib.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import sysconfig
from pathlib import Path

FORMAT = "%(levelname)s %(message)s"


def configure_logging() -> None:
    """Log to stderr as the module docstring says, unless the root logger has handlers."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(is_shown)
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def is_shown(record: logging.LogRecord) -> bool:
    """Whether `record` is shown: WARNING and above, or from perdure, the root logger or
    a logger that is not a library's."""
    return record.levelno >= logging.WARNING or not is_library_logger(record.name)


def is_shown_level(level: str | None, logger: str | None) -> bool:
    """`is_shown` for a record a worker process forwarded (its level name and logger name)."""
    number = logging.getLevelName(level) if level else logging.WARNING
    return not isinstance(number, int) or number >= logging.WARNING or not is_library_logger(logger or "root")


_LIBRARY: dict[str, bool] = {}


def is_library_logger(name: str) -> bool:
    """Whether logger `name` belongs to an installed library or the standard library: its
    top-level package's file lies under the interpreter's library paths (perdure excepted)."""
    top = name.partition(".")[0]
    found = _LIBRARY.get(top)
    if found is None:
        file = getattr(sys.modules.get(top), "__file__", None)
        if file is None and top.isidentifier():
            try:  # a logger of a process that imported what this one has not (a worker's)
                spec = importlib.util.find_spec(top)
            except (ImportError, ValueError):
                spec = None
            file = spec.origin if spec is not None else None
        found = top not in ("perdure", "root") and file is not None and _under_library_paths(file)
        _LIBRARY[top] = found
    return found


def _under_library_paths(file: str) -> bool:
    path = Path(file).resolve()
    return any(path.is_relative_to(base) for base in _library_paths())


_PATHS: list[Path] = []


def _library_paths() -> list[Path]:
    if not _PATHS:
        paths = sysconfig.get_paths()
        names = ("stdlib", "platstdlib", "purelib", "platlib")
        _PATHS.extend(sorted({Path(paths[n]).resolve() for n in names if n in paths}))
    return _PATHS
