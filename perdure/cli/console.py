"""`perdure console`: the web console for a database file, with no server running.

    perdure console [--db PATH] [--host 127.0.0.1] [--port 9001]
                    [--access-key-id ID --secret-access-key SECRET] [--allow-host NAME ...]

Serves the console (and the Lambda REST API it acts through) over the file, without
running any function: the engine's background loop does not run here, so executions
another process runs (`perdure serve`, `perdure run`) are only read, and a completed
callback or a stop is recorded for that process to pick up. Prints
`perdure console: open http://HOST:PORT/` (with `?token=...` when credentials are given,
which binding beyond loopback requires), and serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from perdure.server import Credentials, CredentialsRequiredError, EngineHost
from perdure.server.host import DEFAULT_HOST, check_bind
from perdure.server.sigv4 import ACCESS_KEY_ENV, SECRET_KEY_ENV

from . import commands
from .commands import CommandError
from .logs import configure_logging
from .serve import CONSOLE_TOKEN_ENV, INSTALL_HINT, credentials_of

DEFAULT_CONSOLE_PORT = 9001


def add_parser(sub: Any) -> None:
    """Add the `console` subcommand to the `perdure` subparsers."""
    console = sub.add_parser(
        "console",
        help="open the web console on a database file",
        description="Serve the web console for a database file (no functions run here).",
    )
    console.add_argument(
        "--db", default=None, help="SQLite database file (default: $PERDURE_DB or .perdure/perdure.db)"
    )
    console.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default: {DEFAULT_HOST})")
    console.add_argument(
        "--port",
        type=int,
        default=DEFAULT_CONSOLE_PORT,
        help=f"port (default: {DEFAULT_CONSOLE_PORT}; 0: any free)",
    )
    console.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME", help="as for perdure serve"
    )
    console.add_argument(
        "--access-key-id", default=os.environ.get(ACCESS_KEY_ENV), metavar="ID", help="as for perdure serve"
    )
    console.add_argument("--secret-access-key", default=os.environ.get(SECRET_KEY_ENV), metavar="SECRET")
    console.set_defaults(func=console_command)


def console_command(args: argparse.Namespace) -> int:
    try:
        from perdure.server import ServerOptions
    except ImportError:
        raise CommandError(INSTALL_HINT.replace("perdure serve", "perdure console")) from None
    credentials: Credentials | None = credentials_of(args.access_key_id, args.secret_access_key)
    try:
        check_bind(args.host, credentials)
    except CredentialsRequiredError as exc:
        raise CommandError(str(exc)) from None
    configure_logging()
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    engine = commands.open_existing(args.db)
    try:
        try:
            host = EngineHost(
                engine,
                host=args.host,
                port=args.port,
                allowed_hosts=args.allow_host,
                credentials=credentials,
                options=ServerOptions(),
                console_token=os.environ.get(CONSOLE_TOKEN_ENV) or None,
                run_engine=False,
            )
        except OSError as exc:
            raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None

        def announce() -> None:
            print(f"perdure console: open {host.console_url}", flush=True)
            print(f"  database {engine.service.store.location}", flush=True)

        signum = host.serve_until_signalled(on_started=announce)
        print(f"perdure console: stopped (signal {signum})", file=sys.stderr, flush=True)
    finally:
        engine.close()
    return 0
