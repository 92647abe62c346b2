"""The `perdure` subcommands. Each returns the process exit status.

`list` and `history` read through the service API, so the same code serves the local
database (the engine's service) and a running `perdure serve` (`--endpoint`, over
`perdure.server.HttpServiceClient`, so the server's process stays the only one that opens
its database).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from perdure.engine import Engine
from perdure.engine.invoker import Invocable
from perdure.engine.registry import check_function_name
from perdure.engine.store import default_db_location, is_postgres_url
from perdure.link.inprocess import InProcessInvocable
from perdure.link.target import Target, TargetError, as_lambda_handler
from perdure.testing.runner import decode_result
from perdure.wire.codec import to_wire
from perdure.wire.errors import ResourceNotFoundError
from perdure.wire.service import DurableExecutionService
from perdure.wire.types import (
    Event,
    EventType,
    ExecutionStatus,
    GetDurableExecutionHistoryRequest,
    ListDurableExecutionsByFunctionRequest,
)

from . import render


class CommandError(Exception):
    """An expected failure: printed as one line, exit status 2."""


ENDPOINT_HELP = "read from a running `perdure serve` at this URL (e.g. http://127.0.0.1:9000)"


def add_key_arguments(parser: argparse.ArgumentParser) -> None:
    """The key a command signs its `--endpoint` requests with (a server bound beyond
    loopback requires signatures)."""
    parser.add_argument(
        "--access-key-id",
        default=None,
        metavar="ID",
        help="with --endpoint: sign requests (SigV4) with this key (default: $PERDURE_ACCESS_KEY_ID,"
        " else $AWS_ACCESS_KEY_ID; none: unsigned)",
    )
    parser.add_argument(
        "--secret-access-key",
        default=None,
        metavar="SECRET",
        help="the key's secret (default: $PERDURE_SECRET_ACCESS_KEY, else $AWS_SECRET_ACCESS_KEY)",
    )


def endpoint_client(args: argparse.Namespace) -> DurableExecutionService:
    """The client of `args.endpoint`, signing with the key `add_key_arguments` reads."""
    from perdure.server import HttpServiceClient
    from perdure.server.sigv4 import credentials_from_environment

    try:
        credentials = credentials_from_environment(args.access_key_id, args.secret_access_key)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    return HttpServiceClient(args.endpoint, credentials=credentials)


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a command that runs functions on an engine of its own (`run`, `serve`)."""
    store = parser.add_mutually_exclusive_group()
    store.add_argument(
        "--db",
        default=None,
        help="SQLite database file or postgresql:// URL (default: $PERDURE_DB or .perdure/perdure.db)",
    )
    store.add_argument("--memory", action="store_true", help="keep everything in memory")
    parser.add_argument(
        "--skip-time", action="store_true", help="skip waits and retry delays (virtual clock)"
    )
    parser.add_argument("--isolation", choices=("inprocess", "process"), default="inprocess")


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


def reject_duplicate_names(names: list[str]) -> None:
    """Raises: CommandError naming the functions registered more than once."""
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CommandError(f"--function: {', '.join(duplicates)} registered more than once")


def store_location(db: str | None) -> str | Path:
    """`--db` as a store location: a postgresql:// URL or a file path (default: $PERDURE_DB
    or .perdure/perdure.db)."""
    if db is None:
        return default_db_location()
    return db if is_postgres_url(db) else Path(db)


def open_engine(db: str | None, memory: bool = False, skip_time: bool = False) -> Engine:
    if not memory:
        return Engine.open(store_location(db), skip_time=skip_time)
    return Engine.open(memory=True, skip_time=skip_time)


def _open_existing(db: str | None) -> Engine:
    location = store_location(db)
    if isinstance(location, Path) and not location.exists():
        raise CommandError(f"no database at {location} (run something first, or pass --db)")
    return Engine.open(location)


class _StderrSink:
    """Prints a worker's log records on stderr."""

    def emit(self, arn: str | None, record: dict[str, Any]) -> None:
        level = record.get("level")
        text = str(record.get("message", ""))
        print(f"{level} {text}" if level else text, file=sys.stderr, flush=True)


def register_functions(
    engine: Engine, functions: list[tuple[str, Target]], isolation: str
) -> list[Callable[[], None]]:
    """Load and register each (name, target); returns what closes them, in load order.

    Raises:
        CommandError: a target cannot be loaded (what was loaded before is closed).
    """
    closers: list[Callable[[], None]] = []
    try:
        for name, target in functions:
            invocable, close = _load_invocable(target, engine, isolation)
            if close is not None:
                closers.append(close)
            engine.register_function(name, invocable)
    except BaseException:
        close_all(closers)
        raise
    return closers


def close_all(closers: list[Callable[[], None]]) -> None:
    """Close what `register_functions` returned, the last loaded first."""
    for close in reversed(closers):
        close()


def _load_invocable(
    target: Target, engine: Engine, isolation: str
) -> tuple[Invocable, Callable[[], None] | None]:
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


# ----------------------------------------------------------------------------- run


def parse_function(spec: str) -> tuple[str, Target]:
    """`NAME=TARGET` or `TARGET` -> (function name, target).

    Raises:
        CommandError: the target cannot be parsed, its file does not exist, or NAME is not
            1-64 characters of [a-zA-Z0-9_-].
    """
    name, sep, rest = spec.partition("=")
    named = bool(sep) and ":" not in name and "/" not in name and "\\" not in name
    text = rest if named else spec
    try:
        target = Target.parse(text)
    except TargetError as exc:
        raise CommandError(f"--function {spec}: {exc}") from None
    if named:
        try:
            check_function_name(name)
        except ValueError as exc:
            raise CommandError(f"--function {spec}: {exc}") from None
    if target.is_file and not Path(target.module).is_file():
        raise CommandError(f"--function {spec}: no such file: {target.module}")
    return (name if named else target.function_name), target


def _invoke_targets(specs: list[str], main_name: str) -> list[tuple[str, Target]]:
    """`--function NAME=TARGET` values: the functions the run's chained invokes may call.

    Raises:
        CommandError: a malformed spec, a missing file, or a name given twice.
    """
    functions = [parse_function(spec) for spec in specs]
    reject_duplicate_names([main_name, *(name for name, _ in functions)])
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
    engine = open_engine(args.db, args.memory, args.skip_time)
    try:
        closers = register_functions(engine, [(target.function_name, target), *functions], args.isolation)
        try:
            arn = engine.start_execution(target.function_name, payload, args.name)
            execution = engine.drive(arn)
            events = engine.history(arn, include_execution_data=False)
        finally:
            close_all(closers)
    finally:
        engine.close()
    invocations = sum(1 for e in events if e.event_type is EventType.INVOCATION_COMPLETED)
    summary = {
        "execution_arn": arn,
        "name": execution.durable_execution_name,
        "status": execution.status.value,
        "result": decode_result(execution.result),
        "error": to_wire(execution.error) if execution.error is not None else None,
        "invocations": invocations,
    }
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print(render.run_summary(summary))
    return 0 if execution.status is ExecutionStatus.SUCCEEDED else 1


# ---------------------------------------------------------------- list and history


@dataclass(frozen=True)
class _Source:
    """Where `list`/`history` read: a service, and the local database's function names
    (None over HTTP: the API only lists executions per function)."""

    service: DurableExecutionService
    function_names: Callable[[], list[str]] | None


@contextmanager
def _source(args: argparse.Namespace) -> Iterator[_Source]:
    """`--endpoint`'s server, else the local database."""
    endpoint = getattr(args, "endpoint", None)
    if endpoint is not None:
        if args.db is not None:
            raise CommandError("--db and --endpoint are exclusive: the server reads its own database")
        yield _Source(endpoint_client(args), None)
        return
    engine = _open_existing(args.db)
    try:
        yield _Source(engine.service, engine.function_names)
    finally:
        engine.close()


def list_executions(args: argparse.Namespace) -> int:
    rows: list[dict[str, Any]] = []
    with _source(args) as source:
        if args.function:
            names = [args.function]
        elif source.function_names is None:
            raise CommandError("--endpoint needs --function: the API lists executions per function")
        else:
            names = source.function_names()
        for name in names:
            marker: str | None = None
            while True:
                page = source.service.list_durable_executions_by_function(
                    ListDurableExecutionsByFunctionRequest(function_name=name, marker=marker)
                )
                rows.extend(to_wire(e, timestamps="epoch_seconds") for e in page.durable_executions)
                marker = page.next_marker
                if marker is None:
                    break
    rows.sort(key=lambda r: r.get("StartTimestamp") or 0)
    if args.json:
        print(json.dumps({"DurableExecutions": rows}))
    else:
        print(render.execution_table(rows))
    return 0


def history(args: argparse.Namespace) -> int:
    events: list[Event] = []
    with _source(args) as source:
        marker: str | None = None
        while True:
            try:
                page = source.service.get_durable_execution_history(
                    GetDurableExecutionHistoryRequest(args.arn, include_execution_data=True, marker=marker)
                )
            except ResourceNotFoundError:
                raise CommandError(f"no execution {args.arn}") from None
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            events.extend(page.events)
            marker = page.next_marker
            if marker is None:
                break
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
