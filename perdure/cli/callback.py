"""`perdure callback succeed|fail|heartbeat`: complete a callback from the shell.

    perdure callback succeed CALLBACK_ID [--result JSON] [--db PATH|URL | --endpoint URL [KEY]]
    perdure callback succeed --execution NAME_OR_ARN [--callback NAME] [--result JSON] [--db PATH|URL]
    perdure callback fail CALLBACK_ID [--error-type T] [--error-message M] [--error-data D] [...]
    perdure callback heartbeat CALLBACK_ID [--db PATH|URL | --endpoint URL [KEY]]

KEY is `--access-key-id ID --secret-access-key SECRET`, the key `--endpoint` requests are
signed with (default: `$PERDURE_ACCESS_KEY_ID`/`$PERDURE_SECRET_ACCESS_KEY`, else the AWS
variables; none: unsigned).

The id is the one in the execution's `CallbackStarted` event (`perdure history NAME`, or
the line `perdure run` prints); `--execution` finds it instead, by the callback's name (the
name given to `create_callback` or `wait_for_callback`), or the only open one.
The call goes through the service (`SendDurableExecutionCallback*`): the engine's, on the
same database a `perdure run` may be driving (that process notices the commit and
re-invokes the execution), or, with `--endpoint`, a running `perdure serve` over HTTP
(`perdure.server.HttpServiceClient`). A refused call (unknown id, already completed, timed
out) prints the service error and exits 2; nothing changes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from perdure.engine import Engine
from perdure.testing.runner import find_callback_id
from perdure.wire.service import DurableExecutionService
from perdure.wire.types import (
    ErrorObject,
    SendDurableExecutionCallbackFailureRequest,
    SendDurableExecutionCallbackHeartbeatRequest,
    SendDurableExecutionCallbackSuccessRequest,
)

from . import commands
from .commands import CommandError, Source, read_history, resolve_execution, store_location


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `perdure callback ...` on the main parser's subcommands."""
    parser = sub.add_parser(
        "callback",
        help="complete or heartbeat a callback",
        description="Send a callback success, failure or heartbeat to a waiting execution.",
    )
    parser.add_argument("action", choices=("succeed", "fail", "heartbeat"))
    parser.add_argument(
        "callback_id", metavar="CALLBACK_ID", nargs="?", default=None, help="from the CallbackStarted event"
    )
    parser.add_argument(
        "--execution", default=None, help="find the callback in this execution (its name or ARN) instead"
    )
    parser.add_argument(
        "--callback", default=None, help="with --execution: the callback's name (default: the only open one)"
    )
    parser.add_argument("--result", default=None, help="succeed: the result, as JSON (default: none)")
    parser.add_argument("--error-type", default=None, help="fail: the error type")
    parser.add_argument("--error-message", default=None, help="fail: the error message")
    parser.add_argument("--error-data", default=None, help="fail: extra error data")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--db",
        default=None,
        help="SQLite database file or postgresql:// URL (default: $PERDURE_DB or .perdure/perdure.db)",
    )
    where.add_argument(
        "--endpoint", default=None, help="send it to a running `perdure serve` at this URL instead"
    )
    commands.add_key_arguments(parser)
    parser.set_defaults(func=callback)


def _check_options(args: argparse.Namespace) -> None:
    if (args.callback_id is None) == (args.execution is None):
        raise CommandError("give either CALLBACK_ID or --execution (with --callback NAME)")
    if args.callback is not None and args.execution is None:
        raise CommandError("--callback needs --execution")
    failure_options = (args.error_type, args.error_message, args.error_data)
    if args.action != "succeed" and args.result is not None:
        raise CommandError(f"--result is for 'succeed', not {args.action!r}")
    if args.action != "fail" and any(v is not None for v in failure_options):
        raise CommandError(f"--error-type/--error-message/--error-data are for 'fail', not {args.action!r}")
    if args.result is not None:
        try:
            json.loads(args.result)
        except ValueError as exc:
            raise CommandError(f"--result is not valid JSON: {exc}") from None


def callback(args: argparse.Namespace) -> int:
    _check_options(args)
    endpoint = getattr(args, "endpoint", None)
    if endpoint is not None:
        client = commands.endpoint_client(args)
        _send(client, _callback_id(Source(client, None), args), args)
    else:
        location = store_location(args.db)
        if isinstance(location, Path) and not location.exists():
            raise CommandError(f"no database at {location} (pass --db or --endpoint)")
        # No recovery: this short-lived process must not touch invocations another one runs.
        engine = Engine.open(location, recover_on_open=False)
        try:
            _send(engine.service, _callback_id(Source(engine.service, engine.function_names), args), args)
        finally:
            engine.close()
    done = {"succeed": "succeeded", "fail": "failed", "heartbeat": "heartbeat sent"}[args.action]
    print(f"callback {done}")
    return 0


def _callback_id(source: Source, args: argparse.Namespace) -> str:
    """CALLBACK_ID, or the id `--execution`/`--callback` name.

    Raises:
        CommandError: no such execution or callback (the message lists the callbacks).
    """
    if args.callback_id is not None:
        return str(args.callback_id)
    arn = resolve_execution(source, args.execution)
    history = read_history(source, arn, data=False)
    try:
        return find_callback_id(history, args.execution, args.callback)
    except LookupError as exc:
        raise CommandError(str(exc)) from None


def _send(service: DurableExecutionService, callback_id: str, args: argparse.Namespace) -> None:
    if args.action == "succeed":
        result = None if args.result is None else args.result.encode("utf-8")
        service.send_durable_execution_callback_success(
            SendDurableExecutionCallbackSuccessRequest(callback_id=callback_id, result=result)
        )
    elif args.action == "fail":
        error = ErrorObject(
            error_message=args.error_message, error_type=args.error_type, error_data=args.error_data
        )
        service.send_durable_execution_callback_failure(
            SendDurableExecutionCallbackFailureRequest(callback_id=callback_id, error=error)
        )
    else:
        service.send_durable_execution_callback_heartbeat(
            SendDurableExecutionCallbackHeartbeatRequest(callback_id=callback_id)
        )
