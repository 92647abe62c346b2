"""`perdure conformance`: run requirement files against perdure's engine and handlers.

For each selected id: look up its mapping entry (`handler`, `function`, optional
`extra_functions`, `isolation: "process"` for handlers that crash their process, and
`not_implemented: "<reason>"`), start a fresh time-skipping engine, register the handler
(and the extra functions, whose qualified ARNs go into their `env_var`), drive the
requirement, and record PASSED / FAILED / OPTIONAL_FAILED / NOT_IMPLEMENTED.

A handler that ends its interpreter (``os._exit``, ``sys.exit``) never ends the runner: in
a worker process the worker dies, in process the call is intercepted
(`perdure.link.inprocess.exits_as_crashes`); either way the invocation is recorded as
Lambda records it, failed with `Runtime.ExitError`, and the engine re-invokes.

Handler files are imported as the Lambda runtime imports them, named after the file
(`perdure.link.target`), so error types read `basic.MyError`. The suite reuses file names
across folders; each requirement's handler modules are forgotten when it ends, and a
handler whose module name is still held by another module (two functions of one
requirement with one file name) runs in a worker process, where the name is free. A
handler named like an installed module (`concurrent.py`) is imported under a private name.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perdure.engine import Engine, MemoryStore, Store, VirtualClock
from perdure.engine.invoker import Invocable, InvocationRetryPolicy
from perdure.engine.registry import function_arn
from perdure.link.inprocess import InProcessInvocable, exits_as_crashes
from perdure.link.logs import LogStore, capture_logging
from perdure.link.target import Target

from .backend import EngineBackend
from .driver import Driver, DriverError
from .report import Outcome, Report, Status
from .requirement import Requirement, RequirementError, discover, load_requirement, select

STATE_ENV_VAR = "PERDURE_CONFORMANCE_STATE"
_NAME_SAFE = re.compile(r"[^A-Za-z0-9_-]")


class MappingError(ValueError):
    """The mapping file cannot be used."""


def load_mapping(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read ({exc.strerror})") from None
    except ValueError as exc:
        raise MappingError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise MappingError(f"{path}: must be a JSON object of id -> {{handler, function, ...}}")
    return data


@dataclass(frozen=True)
class Function:
    target: str
    name: str
    process: bool


def _function(handlers: Path, entry: Mapping[str, Any], fallback_name: str) -> Function:
    handler = entry.get("handler")
    if not isinstance(handler, str):
        raise MappingError(f"mapping entry {dict(entry)!r} has no 'handler'")
    path = (handlers / handler).resolve()
    name = entry.get("logical_id") or f"{Path(handler).stem}"
    name = _NAME_SAFE.sub("-", str(name or fallback_name))[:64]
    return Function(
        target=f"{path}:{entry.get('function', 'handler')}",
        name=name,
        process=entry.get("isolation") == "process",
    )


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def _released(handlers: Path) -> Iterator[None]:
    """Forget, afterwards, the handler modules and `sys.path` folders one requirement loaded.

    Handlers are imported as Lambda imports them, named after their file, and the suite
    reuses file names (`basic.py`, `flat.py`, ...) across folders: releasing them lets the
    next requirement import its own `basic.py` under the same name, with its own siblings.
    """
    root = handlers.resolve()
    path = list(sys.path)
    before = set(sys.modules)
    try:
        yield
    finally:
        sys.path[:] = path
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules.get(name), "__file__", None)
            if origin is not None and Path(origin).resolve().is_relative_to(root):
                del sys.modules[name]


class ConformanceRunner:
    """Runs requirements; `run(ids)` returns a `Report`.

    Each requirement runs on a fresh time-skipping engine over `store()` (default: a memory store).
    """

    def __init__(
        self,
        requirements: Path,
        handlers: Path,
        mapping: Mapping[str, Mapping[str, Any]],
        *,
        store: Callable[[], Store] | None = None,
    ) -> None:
        self.store = store
        self.requirements = requirements
        self.handlers = handlers
        self.mapping = mapping
        self.files = discover(requirements)

    def select(self, patterns: Sequence[str] | None) -> list[str]:
        return select(self.files, patterns)

    def run(self, ids: Sequence[str]) -> Report:
        report = Report()
        for requirement_id in ids:
            report.add(self.run_one(requirement_id))
        return report

    def run_one(self, requirement_id: str) -> Outcome:
        started = time.monotonic()
        try:
            requirement = load_requirement(self.files[requirement_id])
        except RequirementError as exc:
            return Outcome(requirement_id, Status.FAILED, str(exc))
        entry = self.mapping.get(requirement_id)
        if entry is None:
            return Outcome(
                requirement_id, Status.NOT_IMPLEMENTED, "no handler mapped", requirement.description
            )
        if entry.get("not_implemented"):
            return Outcome(
                requirement_id, Status.NOT_IMPLEMENTED, str(entry["not_implemented"]), requirement.description
            )
        try:
            problem = self._drive(requirement, entry)
        except DriverError as exc:
            problem = str(exc)
        except Exception as exc:
            problem = f"runner error: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
        seconds = time.monotonic() - started
        if problem is None:
            return Outcome(requirement_id, Status.PASSED, "", requirement.description, seconds)
        status = Status.OPTIONAL_FAILED if requirement.is_optional else Status.FAILED
        return Outcome(requirement_id, status, problem, requirement.description, seconds)

    def _drive(self, requirement: Requirement, entry: Mapping[str, Any]) -> str | None:
        main = _function(self.handlers, entry, f"fn-{requirement.id}")
        extras = [
            _function(self.handlers, x, f"extra-{i}") for i, x in enumerate(entry.get("extra_functions", []))
        ]
        logs = LogStore()
        engine = Engine(
            self.store() if self.store is not None else MemoryStore(),
            VirtualClock(),
            invocation_retry=InvocationRetryPolicy(max_attempts=3, initial_delay_seconds=1.0),
        )
        closers: list[Any] = []
        with tempfile.TemporaryDirectory(prefix="perdure-conformance-") as scratch:
            env = {STATE_ENV_VAR: str(Path(scratch) / "state.json")}
            for raw, function in zip(entry.get("extra_functions", []), extras, strict=True):
                if raw.get("env_var"):
                    env[str(raw["env_var"])] = function_arn(function.name, "$LATEST")
            try:
                with _environment(env), capture_logging(logs), exits_as_crashes(), _released(self.handlers):
                    for function in [main, *extras]:
                        invocable = self._invocable(function, engine, logs, closers)
                        engine.register_function(function.name, invocable)
                    return Driver(requirement, EngineBackend(engine, main.name, logs)).run()
            finally:
                for close in closers:
                    close()
                engine.close()

    @staticmethod
    def _invocable(function: Function, engine: Engine, logs: LogStore, closers: list[Any]) -> Invocable:
        target = Target.parse(function.target)
        # A file whose module name another handler file holds in this process would get a
        # private name in process; its own process gives it Lambda's (named after the file).
        if function.process or target.is_module_name_held_by_another_file():
            from perdure.link.process import ProcessInvocable

            process = ProcessInvocable(function.target, engine.service, log_sink=logs)
            closers.append(process.close)
            return process
        return InProcessInvocable(target.load(), engine.service)


def run_conformance(
    requirements: Path,
    handlers: Path,
    mapping: Path,
    *,
    only: Sequence[str] | None = None,
    report_path: Path | None = None,
) -> Report:
    """Run the selected requirements and write the report (if a path is given)."""
    from perdure.compat import install

    install()
    runner = ConformanceRunner(requirements, handlers, load_mapping(mapping))
    report = runner.run(runner.select(only))
    if report_path is not None:
        report.write(report_path)
    return report
