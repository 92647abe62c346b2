"""`perdure serve`: host the engine behind the AWS Lambda REST API until SIGINT/SIGTERM.

    perdure serve [--host 127.0.0.1] [--port 9000] [--db PATH | --memory] [--skip-time]
                  [--isolation inprocess|process] [--function [NAME=]TARGET ...]
                  [--sync-timeout SECONDS] [--allow-host NAME ...]
                  [--access-key-id ID --secret-access-key SECRET]
                  [--idle-timeout SECONDS] [--body-timeout SECONDS] [--verbose]
                  [--invocations N] [--worker-id ID] [--lease-ttl SECONDS]

Prints `perdure serve: listening on http://HOST:PORT` once the socket is bound (port 0
picks a free port, and the line shows it), then one line per registered function. Needs
the `server` extra (uvicorn); without it, or asked to listen beyond loopback without
credentials, it fails with a one-line error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from perdure.engine.errors import StoreError
from perdure.engine.store import is_postgres_url
from perdure.engine.store.records import DEFAULT_LEASE_TTL_SECONDS
from perdure.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_SYNC_TIMEOUT_SECONDS,
    Credentials,
    CredentialsRequiredError,
    EngineHost,
)
from perdure.server.guard import is_loopback
from perdure.server.host import check_bind
from perdure.server.sigv4 import ACCESS_KEY_ENV, SECRET_KEY_ENV, credentials_from_environment

from . import commands
from .commands import CommandError
from .logs import configure_logging

INSTALL_HINT = "perdure serve needs the server extra: pip install 'perdure[server]'"
CONSOLE_TOKEN_ENV = "PERDURE_CONSOLE_TOKEN"
"""The web console's login token when credentials are given (default: a fresh one, printed)."""


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
    commands.add_engine_arguments(
        serve,
        "skip waits and retry delays (a virtual clock). A callback's timeout is never skipped: when it"
        " is the next timer, the clock follows real time, so a client has the callback's real timeout"
        " to answer it",
    )
    serve.add_argument(
        "--function",
        action="append",
        default=[],
        metavar="[NAME=]TARGET|NAME=URL",
        help="register a durable function (TARGET as for `perdure run`; NAME defaults to file-function);"
        " NAME=http://HOST:PORT is a remote function, invoked through the Lambda Invoke API at that URL"
        " (a Runtime Interface Emulator, `sam local start-lambda`)",
    )
    serve.add_argument(
        "--sync-timeout",
        type=float,
        default=DEFAULT_SYNC_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="how long a RequestResponse Invoke waits before answering 202 with the execution ARN"
        f" (default: {DEFAULT_SYNC_TIMEOUT_SECONDS:g})",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also serve requests whose Host is NAME (repeatable; default: the bound address,"
        " 127.0.0.1, localhost, ::1; '*': any)",
    )
    serve.add_argument(
        "--access-key-id",
        default=os.environ.get(ACCESS_KEY_ENV),
        metavar="ID",
        help=f"check every request's SigV4 signature against this key (default: ${ACCESS_KEY_ENV});"
        " required with a --host beyond loopback",
    )
    serve.add_argument(
        "--secret-access-key",
        default=os.environ.get(SECRET_KEY_ENV),
        metavar="SECRET",
        help=f"the key's secret (default: ${SECRET_KEY_ENV})",
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="close a connection that sends no complete request headers for this long (default: 15)",
    )
    serve.add_argument(
        "--body-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="answer 408 to a request whose body has not fully arrived this long after its headers"
        " (default: 60)",
    )
    serve.add_argument(
        "--worker-id",
        default=None,
        metavar="ID",
        help="this worker's id among the workers sharing a PostgreSQL --db (default: host:pid:random)",
    )
    serve.add_argument(
        "--lease-ttl",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with a PostgreSQL --db, how long an invocation's lease holds without renewal (renewed"
        " every third of it): a worker that dies has its executions resumed by the others within"
        f" about 1.33 x this (default: {DEFAULT_LEASE_TTL_SECONDS:g})",
    )
    serve.add_argument(
        "--invocations",
        type=int,
        default=4,
        metavar="N",
        help="how many invocations (of different executions) this server runs at once (default: 4)",
    )
    serve.add_argument("--verbose", action="store_true", help="log every request")
    serve.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    from perdure.compat import install

    try:
        from perdure.server import ServerOptions
    except ImportError:
        raise CommandError(INSTALL_HINT) from None
    install()
    functions = [commands.parse_function(spec) for spec in args.function]
    commands.reject_duplicate_names([name for name, _ in functions])
    if args.sync_timeout < 0:
        raise CommandError("--sync-timeout must be >= 0")
    if args.invocations < 1:
        raise CommandError("--invocations must be >= 1")
    lease_ttl = DEFAULT_LEASE_TTL_SECONDS if args.lease_ttl is None else args.lease_ttl
    if not lease_ttl > 0:
        raise CommandError("--lease-ttl must be > 0")
    shared = not args.memory and is_postgres_url(commands.store_location(args.db))
    for flag, value in (("--worker-id", args.worker_id), ("--lease-ttl", args.lease_ttl)):
        if value is not None and not shared:
            raise CommandError(f"{flag} applies to workers sharing a PostgreSQL --db (postgresql://...) only")
    credentials = credentials_of(args.access_key_id, args.secret_access_key)
    try:
        check_bind(args.host, credentials)
    except CredentialsRequiredError as exc:
        raise CommandError(str(exc)) from None
    try:
        options = ServerOptions(idle_timeout=args.idle_timeout, body_timeout=args.body_timeout)
    except ValueError as exc:
        raise CommandError(f"--{str(exc).replace('_', '-')}") from None
    if args.verbose:
        logging.getLogger("perdure.server.access").setLevel(logging.DEBUG)
        logging.getLogger("perdure.server").setLevel(logging.DEBUG)
    engine = commands.open_engine(
        args.db,
        args.memory,
        args.skip_time,
        args,
        invocations=args.invocations,
        worker_id=args.worker_id,
        lease_ttl=lease_ttl,
    )
    closers: list[Callable[[], None]] = []
    try:
        closers = commands.register_functions(engine, functions, args.isolation, args.invocation_timeout)
        configure_logging()  # after the handlers' modules are loaded: their own configuration wins
        try:
            engine.join()  # on a PostgreSQL database: one of its workers (refused with --skip-time beside others)
        except StoreError as exc:
            raise CommandError(str(exc)) from None
        try:
            host = EngineHost(
                engine,
                host=args.host,
                port=args.port,
                sync_timeout=args.sync_timeout,
                allowed_hosts=args.allow_host,
                credentials=credentials,
                options=options,
                console_token=os.environ.get(CONSOLE_TOKEN_ENV) or None,
            )
        except OSError as exc:
            raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None

        def announce() -> None:
            print(f"perdure serve: listening on {host.url}", flush=True)
            for name, target in functions:
                print(f"  function {name} -> {target}", flush=True)
            if not functions:
                print("  no functions registered (add --function NAME=path/file.py:handler)", flush=True)
            if credentials is not None:
                print(
                    f"  requests must be SigV4-signed with access key {credentials.access_key_id}", flush=True
                )
            print(f"  console {host.console_url}", flush=True)
            own = [name for name in host.machine_hosts if not is_loopback(name)]
            if own:
                print(
                    f"  serves Host {', '.join(own)} and loopback;"
                    " another name (a DNS name, a NAT address) needs --allow-host NAME",
                    flush=True,
                )
            worker = f" (worker {engine.worker_id})" if engine.worker_id is not None else ""
            print(f"  database {engine.store.location}{worker}", flush=True)

        signum = host.serve_until_signalled(on_started=announce)
        print(f"perdure serve: stopped (signal {signum})", file=sys.stderr, flush=True)
    finally:
        commands.close_all(closers)
        engine.close()
    return 0


def credentials_of(access_key_id: str | None, secret_access_key: str | None) -> Credentials | None:
    # The options' defaults are the environment's; AWS_* keys never make the server demand signatures.
    try:
        return credentials_from_environment(access_key_id, secret_access_key, variables=())
    except ValueError as exc:
        raise CommandError(f"{exc} (the defaults are ${ACCESS_KEY_ENV} and ${SECRET_KEY_ENV})") from None
