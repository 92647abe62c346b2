"""The `perdure` subcommands. Each returns the process exit status."""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from perdure.engine import Engine
from perdure.engine.invoker import Invocable
from perdure.engine.store import default_db_path
from perdure.link.inprocess import InProcessInvocable
from perdure.link.target import Target, TargetError, as_lambda_handler
from perdure.wire.codec import to_wire
from perdure.wire.errors import ResourceNotFoundError
from perdure.wire.types import Event, EventType, ExecutionStatus, ListDurableExecutionsByFunctionRequest

from . import render


class CommandError(Exception):
    """An expected failure: printed as one line, exit status 2."""


# ------------------------------------------------------------------------- helpers


def _parse_input(text: str | None) -> str:
    """The input as canonical JSON text (so `{"a":1}` and `{"a": 1}` are the same input)."""
    if text is None:
        return "null"
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CommandError(f"--input is not valid JSON: {exc}") from None
    return json.dumps(value)


def _open_engine(db: str | None, memory: bool = False, skip_time: bool = False) -> Engine:
    if not memory:
        path = Path(db) if db else default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return Engine.open(path, skip_time=skip_time)
    return Engine.open(memory=True, skip_time=skip_time)


def _open_existing(db: str | None) -> Engine:
    path = Path(db) if db else default_db_path()
    if not path.exists():
        raise CommandError(f"no database at {path} (run something first, or pass --db)")
    return Engine.open(path)


class _StderrSink:
    """Prints a worker's log records on stderr."""

    def emit(self, arn: str | None, record: dict[str, Any]) -> None:
        level = record.get("level")
        text = str(record.get("message", ""))
        print(f"{level} {text}" if level else text, file=sys.stderr, flush=True)


def _load_invocable(target: Target, engine: Engine, isolation: str) -> tuple[Invocable, Any]:
    if isolation == "process":
        from perdure.link.process import ProcessInvocable

        process = ProcessInvocable(str(target), engine.service, log_sink=_StderrSink())
        process.start()
        return process, process.close
    try:
        handler = target.load()
    except TargetError as exc:
        raise CommandError(str(exc)) from None
    except Exception as exc:
        raise CommandError(f"cannot load {target}: {type(exc).__name__}: {exc}") from None
    return InProcessInvocable(as_lambda_handler(handler), engine.service), None


def _decode(raw: str | None) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


# ----------------------------------------------------------------------------- run


def _invoke_targets(specs: list[str], main_name: str) -> list[tuple[str, Target]]:
    """`--function NAME=TARGET` values: the functions the run's chained invokes may call.

    Raises:
        CommandError: a malformed spec, a missing file, or a name given twice.
    """
    from .serve import parse_function

    functions = [parse_function(spec) for spec in specs]
    names = [main_name, *(name for name, _ in functions)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CommandError(f"--function: {', '.join(duplicates)} registered more than once")
    return functions


def run(args: argparse.Namespace) -> int:
    from perdure.compat import install

    install()
    payload = _parse_input(args.input)
    try:
        target = Target.parse(args.target)
    except TargetError as exc:
        raise CommandError(str(exc)) from None
    if target.is_file and not Path(target.module).is_file():
        raise CommandError(f"no such file: {target.module}")
    functions = _invoke_targets(getattr(args, "function", None) or [], target.function_name)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    engine = _open_engine(args.db, args.memory, args.skip_time)
    closers: list[Any] = []
    try:
        for name, extra in [(target.function_name, target), *functions]:
            invocable, close_invocable = _load_invocable(extra, engine, args.isolation)
            if close_invocable is not None:
                closers.append(close_invocable)
            engine.register_function(name, invocable)
        arn = engine.start_execution(target.function_name, payload, args.name)
        execution = engine.drive(arn)
        events = engine.history(arn, include_execution_data=False)
    finally:
        for close in reversed(closers):
            close()
        engine.close()
    invocations = sum(1 for e in events if e.event_type is EventType.INVOCATION_COMPLETED)
    summary = {
        "execution_arn": arn,
        "name": execution.durable_execution_name,
        "status": execution.status.value,
        "result": _decode(execution.result),
        "error": to_wire(execution.error) if execution.error is not None else None,
        "invocations": invocations,
    }
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print(render.run_summary(summary))
    return 0 if execution.status is ExecutionStatus.SUCCEEDED else 1


# ---------------------------------------------------------------------------- list


def _function_names(db: Path) -> list[str]:
    """Every function with executions in the database (read directly: the engine lists per function)."""
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = connection.execute("SELECT DISTINCT function_name FROM executions ORDER BY function_name")
            return [str(r[0]) for r in rows]
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise CommandError(f"cannot read {db}: {exc}") from None


def list_executions(args: argparse.Namespace) -> int:
    path = Path(args.db) if args.db else default_db_path()
    engine = _open_existing(args.db)
    try:
        names = [args.function] if args.function else _function_names(path)
        rows: list[dict[str, Any]] = []
        for name in names:
            marker: str | None = None
            while True:
                page = engine.service.list_durable_executions_by_function(
                    ListDurableExecutionsByFunctionRequest(function_name=name, marker=marker)
                )
                rows.extend(to_wire(e, timestamps="epoch_seconds") for e in page.durable_executions)
                marker = page.next_marker
                if marker is None:
                    break
    finally:
        engine.close()
    rows.sort(key=lambda r: r.get("StartTimestamp") or 0)
    if args.json:
        print(json.dumps({"DurableExecutions": rows}))
    else:
        print(render.execution_table(rows))
    return 0


# ------------------------------------------------------------------------- history


def history(args: argparse.Namespace) -> int:
    engine = _open_existing(args.db)
    try:
        try:
            events: list[Event] = engine.history(args.arn)
        except ResourceNotFoundError:
            raise CommandError(f"no execution {args.arn}") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    finally:
        engine.close()
    if args.json:
        print(json.dumps({"Events": [to_wire(e, timestamps="epoch_seconds") for e in events]}))
    else:
        print(render.history_table(events))
    return 0


# --------------------------------------------------------------------- conformance


def conformance(args: argparse.Namespace) -> int:
    from perdure.testing.conformance.requirement import RequirementError
    from perdure.testing.conformance.runner import MappingError, run_conformance

    for flag, value in (("--requirements", args.requirements), ("--handlers", args.handlers)):
        if not Path(value).is_dir():
            raise CommandError(f"{flag} {value}: not a directory")
    only = [p for p in args.only.split(",") if p.strip()] if args.only else None
    started = datetime.now()
    try:
        report = run_conformance(
            Path(args.requirements),
            Path(args.handlers),
            Path(args.mapping),
            only=only,
            report_path=Path(args.report) if args.report else None,
        )
    except (MappingError, RequirementError) as exc:
        raise CommandError(str(exc)) from None
    for outcome in report.results:
        line = f"{outcome.status.value:<16} {outcome.id:<6} {outcome.description}"
        if outcome.detail and outcome.status.value != "PASSED":
            line += f"\n{'':<23}{outcome.detail.splitlines()[0]}"
        print(line)
    elapsed = (datetime.now() - started).total_seconds()
    print(f"{report.summary_line()} in {elapsed:.1f}s")
    return report.exit_code
