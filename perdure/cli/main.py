"""`perdure` command line entry point (argparse).

    perdure run TARGET [--input JSON] [--name NAME] [--db PATH|URL | --memory] [--skip-time]
                [--isolation inprocess|process] [--function NAME=TARGET ...] [--json] [-q]
    perdure list [--db PATH|URL | --endpoint URL [--access-key-id ID --secret-access-key SECRET]]
                 [--function NAME] [--json]
    perdure history EXECUTION [--follow] [--db PATH|URL | --endpoint URL [--access-key-id ...]] [--json]
    perdure conformance --requirements DIR --handlers DIR --mapping FILE [--only IDS] [--report FILE]
    perdure serve [--host 127.0.0.1] [--port 9000] [--db PATH|URL | --memory] [--skip-time]
                  [--isolation inprocess|process] [--function [NAME=]TARGET ...] [--sync-timeout S]
    perdure console [--db PATH|URL] [--host 127.0.0.1] [--port 9001]
    perdure callback succeed|fail|heartbeat [CALLBACK_ID | --execution EXECUTION [--callback NAME]]
                     [--result JSON | --error-type T --error-message M] [--db PATH|URL | --endpoint URL]

    python -m perdure ...   (the same)

An EXECUTION is addressed by its name or its ARN.

Every expected failure (bad target, bad JSON, an unusable database, a refused start)
prints one line `perdure: error: ...` on stderr and exits with status 2; `run` exits 1
when the execution did not succeed, `conformance` when a selected id FAILED. Output cut
short by its reader (`| head`) ends the command quietly with status 141.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence

from perdure.wire.errors import PerdureError

from . import callback, commands
from . import console as console_cli
from . import serve as serve_cli

EXIT_ERROR = 2
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a command killed by a closed pipe exits with."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("perdure")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perdure", description="Durable execution for Python.")
    parser.add_argument("--version", action="version", version=f"perdure {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a durable handler to its end", description="Run a durable handler.")
    run.add_argument("target", help="path/file.py:func or package.module:func")
    run.add_argument("--input", default=None, help="the execution input, as JSON (default: null)")
    run.add_argument("--name", default=None, help="execution name; the same name and input resumes it")
    commands.add_engine_arguments(run, commands.SKIP_TIME_HELP)
    run.add_argument(
        "--function",
        action="append",
        default=[],
        metavar="NAME=TARGET|URL",
        help="also register a function its chained invokes call (repeatable); NAME=http://HOST:PORT"
        " is a remote function, invoked through the Lambda Invoke API at that URL",
    )
    run.add_argument(
        "--api-port",
        type=int,
        default=9000,
        metavar="PORT",
        help="with remote functions: serve the engine's Lambda API on 127.0.0.1:PORT for them"
        " (their AWS_ENDPOINT_URL_LAMBDA; default: 9000)",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print the outcome as one JSON document on stdout (progress, and what the handler"
        " prints to stdout, go to stderr)",
    )
    run.add_argument("-q", "--quiet", action="store_true", help="no line per operation")
    run.set_defaults(func=commands.run)

    listing = sub.add_parser("list", help="list executions", description="List executions.")
    listing.add_argument("--db", default=None)
    listing.add_argument("--function", default=None, help="only this function")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--endpoint", default=None, help=commands.ENDPOINT_HELP)
    commands.add_key_arguments(listing)
    listing.set_defaults(func=commands.list_executions)

    history = sub.add_parser("history", help="show an execution's history", description="Show a history.")
    history.add_argument("execution", metavar="EXECUTION", help="its name or ARN")
    history.add_argument(
        "--follow", "-f", action="store_true", help="keep printing new events until the execution ends"
    )
    history.add_argument("--db", default=None)
    history.add_argument("--json", action="store_true")
    history.add_argument("--endpoint", default=None, help=commands.ENDPOINT_HELP)
    commands.add_key_arguments(history)
    history.set_defaults(func=commands.history)

    conformance = sub.add_parser(
        "conformance", help="run conformance requirements", description="Run conformance requirements."
    )
    conformance.add_argument("--requirements", required=True, help="folder of <suite>/<id>.yaml")
    conformance.add_argument("--handlers", required=True, help="folder of handler modules")
    conformance.add_argument("--mapping", required=True, help="JSON: id -> {handler, function, ...}")
    conformance.add_argument("--only", default=None, help="comma-separated ids or globs, e.g. 8-1,9-*")
    conformance.add_argument("--report", default=None, help="write the JSON report here")
    conformance.set_defaults(func=commands.conformance)
    serve_cli.add_parser(sub)
    callback.add_parser(sub)
    console_cli.add_parser(sub)
    return parser


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse `argv`; an argument the command does not take is reported with the command's own
    usage (not the top-level one), and a mistyped option with the closest one it has."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        command: argparse.ArgumentParser = subparsers.choices[args.command]
        options = [option for action in command._actions for option in action.option_strings]
        hints: list[str] = []
        for extra in extras:
            if extra.startswith("-"):
                close = difflib.get_close_matches(extra.partition("=")[0], options, n=1)
                hints.extend(f"{extra.partition('=')[0]}: did you mean {match}?" for match in close)
        command.error(f"unrecognized arguments: {' '.join(extras)}" + "".join(f"\n  {h}" for h in hints))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse(parser, argv)
    try:
        code: int = args.func(args)
    except commands.CommandError as exc:
        print(f"perdure: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except PerdureError as exc:
        print(f"perdure: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("perdure: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of the output went away (`perdure history ... | head`): nothing more
        # can be shown, and the interpreter's last flush must not fail on the closed pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
