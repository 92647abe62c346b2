"""The `perdure` subcommands. Each returns the process exit status.

`list` and `history` read through the service API, so the same code serves the local
database (the engine's service) and a running `perdure serve` (`--endpoint`, over
`perdure.server.HttpServiceClient`, so the server's process stays the only one that opens
its database).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from perdure.engine import Engine, StoreError
from perdure.engine.invoker import DEFAULT_INVOCATION_TIMEOUT_SECONDS, Invocable
from perdure.engine.lifecycle import DEFAULT_EXECUTION_TIMEOUT_SECONDS
from perdure.engine.registry import check_function_name, function_name_of
from perdure.engine.scheduler import EXTERNAL_CHECK_SECONDS
from perdure.engine.store import WorkerInfo, check_location, default_db_location, is_postgres_url
from perdure.link.inprocess import InProcessInvocable
from perdure.link.remote import HttpInvocable, check_function_url, is_function_url
from perdure.link.target import Target, TargetError, as_lambda_handler, is_durable_handler
from perdure.sdk.plugin import DurableInstrumentationPluginFactory
from perdure.testing.runner import decode_result
from perdure.wire import limits
from perdure.wire.codec import to_wire
from perdure.wire.errors import DurableExecutionAlreadyStartedError, ResourceNotFoundError
from perdure.wire.service import DurableExecutionService
from perdure.wire.types import (
    Event,
    EventType,
    ExecutionStatus,
    GetDurableExecutionHistoryRequest,
    GetDurableExecutionResponse,
    ListDurableExecutionsByFunctionRequest,
)

from . import live, render
from .logs import configure_logging, is_shown_level

FunctionSource = Target | str
"""Where a function runs: a handler to load (`Target`), or the URL of a remote function."""


class CommandError(Exception):
    """An expected failure: printed as one line, exit status 2."""


SKIP_TIME_HELP = (
    "skip waits and retry delays (a virtual clock). While a callback is open the clock"
    " follows real time instead, so its timeout counts in real seconds and"
    " `perdure callback` (from another shell, on the same --db) can answer it"
)
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
    try:
        return HttpServiceClient(args.endpoint, credentials=credentials)
    except ValueError as exc:
        raise CommandError(f"--endpoint: {exc}") from None


def add_engine_arguments(
    parser: argparse.ArgumentParser, skip_time_help: str = "skip waits and retry delays (virtual clock)"
) -> None:
    """The options of a command that runs functions on an engine of its own (`run`, `serve`)."""
    store = parser.add_mutually_exclusive_group()
    store.add_argument(
        "--db",
        default=None,
        help="SQLite database file or postgresql:// URL (default: $PERDURE_DB or .perdure/perdure.db)",
    )
    store.add_argument("--memory", action="store_true", help="keep everything in memory")
    parser.add_argument("--skip-time", action="store_true", help=skip_time_help)
    parser.add_argument("--isolation", choices=("inprocess", "process"), default="inprocess")
    parser.add_argument(
        "--execution-timeout",
        type=_positive_int,
        default=DEFAULT_EXECUTION_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="ExecutionTimeout of the executions started without one: past it they end TIMED_OUT"
        f" (default: {DEFAULT_EXECUTION_TIMEOUT_SECONDS}, a week; at most {limits.MAX_EXECUTION_TIMEOUT_SECONDS})",
    )
    parser.add_argument(
        "--max-operations",
        type=_positive_int,
        default=limits.DEFAULT_MAX_OPERATIONS,
        metavar="N",
        help=f"operations allowed per execution (default: {limits.DEFAULT_MAX_OPERATIONS}, as on AWS)",
    )
    parser.add_argument(
        "--invocation-timeout",
        type=float,
        default=DEFAULT_INVOCATION_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="how long an invocation of a remote function (--function NAME=URL) may take before it"
        f" counts as timed out and is retried (default: {DEFAULT_INVOCATION_TIMEOUT_SECONDS:g})",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


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
    try:
        if db is None:
            return default_db_location()
        check_location(db, "--db")
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    return db if is_postgres_url(db) else Path(db)


def open_engine(
    db: str | None,
    memory: bool = False,
    skip_time: bool = False,
    args: argparse.Namespace | None = None,
    invocations: int | None = None,
    **store_options: Any,
) -> Engine:
    """The engine of `run` or `serve`; `args` carries `add_engine_arguments`' limits,
    `invocations` how many it runs at once (default: the engine's), `store_options` what
    `Engine.open` passes to a PostgreSQL store (worker id, lease TTL).

    Raises:
        CommandError: `--execution-timeout` is over the maximum.
    """
    options: dict[str, Any] = {}
    if args is not None:
        if args.execution_timeout > limits.MAX_EXECUTION_TIMEOUT_SECONDS:
            raise CommandError(
                f"--execution-timeout {args.execution_timeout} is over the maximum,"
                f" {limits.MAX_EXECUTION_TIMEOUT_SECONDS} seconds"
            )
        if not args.invocation_timeout > 0:
            raise CommandError("--invocation-timeout must be > 0")
        options = {"execution_timeout": args.execution_timeout, "max_operations": args.max_operations}
    # A skipped callback timeout would time out every callback before a client could answer it.
    options["callbacks_in_real_time"] = skip_time
    if invocations is not None:
        options["workers"] = invocations
    if memory:
        return Engine.open(memory=True, skip_time=skip_time, **options)
    # A SQLite store creates its file's folder, and says why when it cannot.
    return Engine.open(store_location(db), skip_time=skip_time, **store_options, **options)


def open_existing(db: str | None) -> Engine:
    location = store_location(db)
    if isinstance(location, Path) and not location.exists():
        raise CommandError(f"no database at {location} (run something first, or pass --db)")
    return Engine.open(location)


class _StderrSink:
    """Prints a worker's log records on stderr (those `configure_logging` would show)."""

    def emit(self, arn: str | None, record: dict[str, Any]) -> None:
        level = record.get("level")
        if not is_shown_level(level, record.get("logger")):
            return
        text = str(record.get("message", ""))
        print(f"{level} {text}" if level else text, file=sys.stderr, flush=True)


def register_functions(
    engine: Engine,
    functions: Sequence[tuple[str, FunctionSource]],
    isolation: str,
    invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT_SECONDS,
    plugins: Mapping[str, Sequence[DurableInstrumentationPluginFactory]] | None = None,
) -> list[Callable[[], None]]:
    """Load and register each (name, target); returns what closes them, in load order.

    Args:
        plugins: plugin factories to add to a function's invocations, by function name
            (a handler run in this process only: not one in a worker or a remote one).

    Raises:
        CommandError: a target cannot be loaded (what was loaded before is closed).
    """
    closers: list[Callable[[], None]] = []
    try:
        for name, target in functions:
            invocable, close = _load_invocable(
                name, target, engine, isolation, invocation_timeout, (plugins or {}).get(name, ())
            )
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
    name: str,
    target: FunctionSource,
    engine: Engine,
    isolation: str,
    invocation_timeout: float,
    plugins: Sequence[DurableInstrumentationPluginFactory],
) -> tuple[Invocable, Callable[[], None] | None]:
    if isinstance(target, str):
        return HttpInvocable(name, target, timeout=invocation_timeout), None
    if isolation == "process":
        from perdure.link.process import ProcessInvocable

        process = ProcessInvocable(str(target), engine.service, log_sink=_StderrSink())
        process.start()
        if not process.is_durable_handler:
            warn_undecorated(target)
        return process, process.close
    try:
        handler = target.load()
    except TargetError as exc:
        raise CommandError(str(exc)) from None
    except Exception as exc:
        raise CommandError(f"cannot load {target}: {type(exc).__name__}: {exc}") from None
    if not is_durable_handler(handler):
        warn_undecorated(target)
    return InProcessInvocable(as_lambda_handler(handler), engine.service, plugins), None


def warn_undecorated(target: Target) -> None:
    """Warn on stderr that `target` lacks `@durable_execution`: it runs here, not on Lambda."""
    print(
        f"perdure: warning: {target} is not decorated with @durable_execution. It runs here,"
        " but fails on AWS Lambda: add `@durable_execution` (from perdure import"
        " durable_execution) above the handler.",
        file=sys.stderr,
        flush=True,
    )


# ----------------------------------------------------------------------------- run


def parse_function(spec: str) -> tuple[str, FunctionSource]:
    """`NAME=TARGET`, `TARGET` or `NAME=URL` -> (function name, target or URL).

    Raises:
        CommandError: the target cannot be parsed, its file does not exist, a URL is
            malformed or has no NAME, or NAME is not 1-64 characters of [a-zA-Z0-9_-].
    """
    name, sep, rest = spec.partition("=")
    named = bool(sep) and ":" not in name and "/" not in name and "\\" not in name
    text = rest if named else spec
    if is_function_url(text):
        if not named:
            raise CommandError(f"--function {spec}: a remote function needs a name: --function NAME={text}")
        try:
            check_function_name(name)
            return name, check_function_url(text)
        except ValueError as exc:
            raise CommandError(f"--function {spec}: {exc}") from None
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


def _invoke_targets(specs: list[str], main_name: str) -> list[tuple[str, FunctionSource]]:
    """`--function NAME=TARGET` values: the functions the run's chained invokes may call.

    Raises:
        CommandError: a malformed spec, a missing file, or a name given twice.
    """
    functions = [parse_function(spec) for spec in specs]
    reject_duplicate_names([main_name, *(name for name, _ in functions)])
    return functions


def _serve_api(engine: Engine, port: int) -> Callable[[], None]:
    """Serve the engine's Lambda API on 127.0.0.1:`port` for the run's remote functions, which
    reach it through `AWS_ENDPOINT_URL_LAMBDA`; returns what stops it.

    Raises:
        CommandError: the `server` extra is missing, or the port is taken.
    """
    try:
        from perdure.server import EngineHost
    except ImportError:
        raise CommandError("remote functions need the server extra: pip install 'perdure[server]'") from None
    try:
        host = EngineHost(engine, port=port)
    except OSError as exc:
        raise CommandError(f"--api-port {port}: cannot listen: {exc.strerror or exc}") from None
    host.start()
    print(f"perdure run: remote functions reach the engine at {host.url}", file=sys.stderr, flush=True)
    return host.stop


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
    with stdout_to_stderr() if args.json else contextlib.nullcontext():
        arn, execution, events = _run_engine(args, target, payload, functions)
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


def _run_engine(
    args: argparse.Namespace, target: Target, payload: str | None, functions: list[tuple[str, FunctionSource]]
) -> tuple[str, GetDurableExecutionResponse, list[Event]]:
    """Run the execution `run` asked for on an engine of its own: (ARN, its end, its history)."""
    engine = open_engine(args.db, args.memory, args.skip_time, args)
    # A handler in this process is observed (each map's item count, a wake-up per ended
    # operation); one in a worker process is followed by reading its history.
    observer = live.RunObserver() if not args.quiet and args.isolation == "inprocess" else None
    try:
        closers = register_functions(
            engine,
            [(target.function_name, target), *functions],
            args.isolation,
            args.invocation_timeout,
            {target.function_name: (observer,)} if observer is not None else None,
        )
        configure_logging()  # after the handler's module is loaded: its own configuration wins
        try:
            try:
                engine.join()  # on a PostgreSQL database, before the execution exists (--skip-time is refused there)
            except StoreError as exc:
                raise CommandError(str(exc)) from None
            if any(isinstance(source, str) for _, source in functions):
                closers.append(_serve_api(engine, args.api_port))
            since = engine.clock.now()
            try:
                arn = engine.start_execution(target.function_name, payload, args.name)
            except DurableExecutionAlreadyStartedError as exc:
                db = f" --db {shlex.quote(args.db)}" if args.db else ""
                raise CommandError(
                    f"{exc}: to resume it, run it with the input it was started with (`perdure history"
                    f" {shlex.quote(args.name)}{db}` shows it); to start another, give another --name"
                ) from exc
            name = engine.get_execution(arn).durable_execution_name
            out = sys.stderr if args.json else sys.stdout
            print(f"name       {name}\nexecution  {arn}", file=out, flush=True)
            follower = None
            if not args.quiet:
                progress = live.Progress(
                    lambda line: print(line, file=out, flush=True),
                    name,
                    args.db,
                    item_counts=observer.item_counts if observer is not None else None,
                    memory=args.memory,
                    since=since,
                )
                follower = live.Follower(
                    engine, arn, progress, observer.changed if observer is not None else None
                ).start()
            try:
                execution = live.drive_skipping(engine, arn, name) if args.skip_time else engine.drive(arn)
            except KeyboardInterrupt:
                _print_resume_hint(args, name)
                raise
            finally:
                if follower is not None:
                    follower.stop()
            events = engine.history(arn, include_execution_data=False)
        finally:
            close_all(closers)
    finally:
        engine.close()
    return arn, execution, events


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send whatever is written to stdout meanwhile (a handler's `print`, a library writing to
    file descriptor 1) to stderr: `--json`'s stdout is the one JSON document written after."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        fd = sys.stdout.fileno()
        saved: int | None = os.dup(fd)
        os.dup2(sys.stderr.fileno(), fd)
    except (OSError, ValueError, AttributeError):  # not a file (a captured stream): Python level only
        fd, saved = -1, None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, fd)
            os.close(saved)


def _print_resume_hint(args: argparse.Namespace, name: str) -> None:
    if args.memory:
        print(f"perdure: execution {name} was in memory only: it is gone", file=sys.stderr)
        return
    db = f" --db {shlex.quote(args.db)}" if args.db else ""
    given = f" --input {shlex.quote(args.input)}" if args.input is not None else ""
    print(
        f"perdure: execution {name} is saved; resume it with:"
        f" perdure run {shlex.quote(args.target)} --name {shlex.quote(name)}{given}{db}",
        file=sys.stderr,
        flush=True,
    )


# ---------------------------------------------------------------- list and history


@dataclass(frozen=True)
class Source:
    """Where `list`/`history` read: a service, the local database's function names (None
    over HTTP: the API only lists executions per function), and a number that changes
    when another process commits to that database (None over HTTP: poll)."""

    service: DurableExecutionService
    function_names: Callable[[], list[str]] | None
    version: Callable[[], int | None] | None = None
    live_workers: Callable[[], list[WorkerInfo] | None] | None = None
    """The workers serving a database several share (None: not such a database)."""


@contextmanager
def _source(args: argparse.Namespace) -> Iterator[Source]:
    """`--endpoint`'s server, else the local database."""
    endpoint = getattr(args, "endpoint", None)
    if endpoint is not None:
        if args.db is not None:
            raise CommandError("--db and --endpoint are exclusive: the server reads its own database")
        yield Source(endpoint_client(args), None)
        return
    engine = open_existing(args.db)
    try:
        yield Source(
            engine.service,
            engine.function_names,
            version=engine.store.external_version,
            live_workers=engine.live_workers,
        )
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
        workers = source.live_workers() if source.live_workers is not None else None
    rows.sort(key=lambda r: r.get("StartTimestamp") or 0)
    if args.json:
        print(json.dumps({"DurableExecutions": rows}))
    else:
        print(render.execution_table(rows))
    if workers is not None:
        for function, count in unserved_functions(rows, workers).items():
            print(
                f"note: {count} RUNNING execution(s) of {function} wait: no live worker registered"
                f" it (perdure serve --function {function}=TARGET on this database runs them)",
                file=sys.stderr,
            )
    return 0


def unserved_functions(rows: list[dict[str, Any]], workers: list[WorkerInfo]) -> dict[str, int]:
    """RUNNING executions per function that no live worker registered (they wait for one)."""
    served = {name for worker in workers for name in worker.functions}
    waiting: dict[str, int] = {}
    for row in rows:
        function = function_name_of(str(row.get("FunctionArn", "")))
        if row.get("Status") == "RUNNING" and function not in served:
            waiting[function] = waiting.get(function, 0) + 1
    return waiting


def resolve_execution(source: Source, ref: str) -> str:
    """The ARN of the execution `ref` names: an ARN as is, else a name looked up per function.

    Raises:
        CommandError: no execution has that name, or several do (they are listed), or the
            source cannot list functions (`--endpoint`: pass the ARN).
    """
    if ref.startswith("arn:"):
        return ref
    if source.function_names is None:
        raise CommandError(
            f"{ref!r}: over --endpoint, address the execution by its ARN"
            " (`perdure list --endpoint URL --function NAME` shows them)"
        )
    found: list[tuple[str, str]] = []
    for function in source.function_names():
        page = source.service.list_durable_executions_by_function(
            ListDurableExecutionsByFunctionRequest(function_name=function, durable_execution_name=ref)
        )
        found.extend((function, e.durable_execution_arn) for e in page.durable_executions)
    if not found:
        raise CommandError(f"no execution named {ref!r} (`perdure list` shows them)")
    if len(found) > 1:
        listed = "; ".join(f"{function}: {arn}" for function, arn in found)
        raise CommandError(f"{len(found)} executions are named {ref!r}, pass one's ARN instead: {listed}")
    return found[0][1]


def read_history(source: Source, arn: str, after: int | None = None, *, data: bool = True) -> list[Event]:
    """The events of `arn` after event id `after` (all when None).

    Raises:
        CommandError: no such execution.
    """
    events: list[Event] = []
    marker = None if after is None else str(after)
    while True:
        try:
            page = source.service.get_durable_execution_history(
                GetDurableExecutionHistoryRequest(arn, include_execution_data=data, marker=marker)
            )
        except ResourceNotFoundError:
            raise CommandError(f"no execution {arn}") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        events.extend(page.events)
        marker = page.next_marker
        if marker is None:
            return events


_EXECUTION_ENDS = {
    EventType.EXECUTION_SUCCEEDED,
    EventType.EXECUTION_FAILED,
    EventType.EXECUTION_TIMED_OUT,
    EventType.EXECUTION_STOPPED,
}


def history(args: argparse.Namespace) -> int:
    if args.follow and args.json:
        raise CommandError("--follow prints events as they are recorded; it does not combine with --json")
    with _source(args) as source:
        arn = resolve_execution(source, args.execution)
        version = source.version() if source.version is not None else None
        events = read_history(source, arn, None)
        if args.json:
            print(json.dumps({"Events": [to_wire(e, timestamps="epoch_seconds") for e in events]}))
            return 0
        if not args.follow:
            print(render.history_table(events), flush=True)
            return 0
        # Fixed columns, so that the lines of events still to come align with these.
        print(render.history_header(), flush=True)
        for event in events:
            print(render.history_line(event), flush=True)
        while not any(e.event_type in _EXECUTION_ENDS for e in events):
            version = _await_change(source, version)
            more = read_history(source, arn, events[-1].event_id if events else None)
            for event in more:
                print(render.history_line(event), flush=True)
            events.extend(more)
    return 0


def _await_change(source: Source, version: int | None) -> int | None:
    """Return once the history may have grown: when the database's version moves past
    `version` (read before the history was), else (over HTTP) after `live.POLL_SECONDS`."""
    if source.version is None or version is None:
        time.sleep(live.POLL_SECONDS)
        return None
    while (current := source.version()) == version:
        time.sleep(EXTERNAL_CHECK_SECONDS)
    return current


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
