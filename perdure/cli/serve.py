"""`perdure serve`: host the engine behind the AWS Lambda REST API until SIGINT/SIGTERM.

    perdure serve [--host 127.0.0.1] [--port 9000] [--db PATH | --memory] [--skip-time]
                  [--isolation inprocess|process] [--function [NAME=]TARGET ...]
                  [--sync-timeout SECONDS] [--verbose]

Prints `perdure serve: listening on http://HOST:PORT` once the socket is bound (port 0
picks a free port, and the line shows it), then one line per registered function.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Any

from perdure.server import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_SYNC_TIMEOUT_SECONDS, EngineHost

from . import commands
from .commands import CommandError

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_parser(sub: Any) -> None:
    """Add the `serve` subcommand to the `perdure` subparsers."""
    serve = sub.add_parser(
        "serve",
        help="serve the engine over the AWS Lambda REST API",
        description="Host the engine behind the AWS Lambda REST API (boto3 works against it unchanged).",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default: {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: any free)"
    )
    commands.add_engine_arguments(serve)
    serve.add_argument(
        "--function",
        action="append",
        default=[],
        metavar="[NAME=]TARGET",
        help="register a durable function (TARGET as for `perdure run`; NAME defaults to file-function)",
    )
    serve.add_argument(
        "--sync-timeout",
        type=float,
        default=DEFAULT_SYNC_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="how long a RequestResponse Invoke waits before answering 202 with the execution ARN"
        f" (default: {DEFAULT_SYNC_TIMEOUT_SECONDS:g})",
    )
    serve.add_argument("--verbose", action="store_true", help="log every request")
    serve.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    from perdure.compat import install

    install()
    functions = [commands.parse_function(spec) for spec in args.function]
    commands.reject_duplicate_names([name for name, _ in functions])
    if args.sync_timeout < 0:
        raise CommandError("--sync-timeout must be >= 0")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    if args.verbose:
        logging.getLogger("perdure.server.access").setLevel(logging.DEBUG)
        logging.getLogger("perdure.server").setLevel(logging.DEBUG)
    engine = commands.open_engine(args.db, args.memory, args.skip_time)
    closers: list[Callable[[], None]] = []
    try:
        closers = commands.register_functions(engine, functions, args.isolation)
        try:
            host = EngineHost(engine, host=args.host, port=args.port, sync_timeout=args.sync_timeout)
        except OSError as exc:
            raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None

        def announce() -> None:
            print(f"perdure serve: listening on {host.url}", flush=True)
            for name, target in functions:
                print(f"  function {name} -> {target}", flush=True)
            if not functions:
                print("  no functions registered (add --function NAME=path/file.py:handler)", flush=True)
            if args.host not in _LOOPBACK:
                print(
                    f"perdure serve: warning: listening on {args.host}, beyond this machine;"
                    " the API has no authentication",
                    file=sys.stderr,
                    flush=True,
                )

        signum = host.serve_until_signalled(on_started=announce)
        print(f"perdure serve: stopped (signal {signum})", file=sys.stderr, flush=True)
    finally:
        commands.close_all(closers)
        engine.close()
    return 0
