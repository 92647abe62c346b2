"""A local Lambda Invoke API host: serves Lambda handlers as the Runtime Interface Emulator does.

    python -m perdure.link.lambda_host [--host 127.0.0.1] [--port 8080] [--compat] NAME=TARGET ...

Each TARGET (`path/file.py:handler` or `package.module:handler`) is imported once and
served on `POST /2015-03-31/functions/NAME/invocations`: the request body is the event,
the handler is called as Lambda calls it (`handler(event, context)`), its return value is
the JSON answer, and an exception escaping it answers with `X-Amz-Function-Error:
Unhandled` and `{"errorType", "errorMessage", "stackTrace"}`. The handler must already be
a Lambda handler (a `@durable_execution` function, of perdure's SDK or the official one);
it reaches the durable-execution API as it would on Lambda, through
`AWS_ENDPOINT_URL_LAMBDA` in this process's environment. Invocations run on their own
threads. Prints `lambda host: listening on http://HOST:PORT` once bound (port 0: any free).
Log records (the root logger's, so `context.logger`'s) go to stderr as the Lambda runtime
writes them, `[LEVEL]<TAB>TIME<TAB>REQUEST_ID<TAB>MESSAGE`, from INFO up (or from
`AWS_LAMBDA_LOG_LEVEL`: DEBUG, INFO, WARN, ERROR, FATAL).
With `--compat`, handlers written against the official SDK's module names run on perdure's
SDK (`perdure.compat`).

Run it with the interpreter (virtualenv) the handler needs: it imports only the standard
library and `perdure.link.target`. `perdure serve --function NAME=http://HOST:PORT` invokes it.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import importlib.util
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from perdure.wire import limits

from .target import Target, TargetError

_ROUTE = re.compile(r"/2015-03-31/functions/([^/]+)/invocations")
DEFAULT_TIMEOUT_SECONDS = 900.0

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("lambda_host_request", default=None)
_last_request_id = ""  # for records from threads a handler starts (they do not inherit the context)
_LOG_LEVELS = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
}


class _RequestIdFilter(logging.Filter):
    """Adds `aws_request_id`: the invocation this thread runs, else the latest one."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _request_id.get() or _last_request_id
        return True


_LOG = logging.getLogger("perdure.lambda_host")


def configure_logging(level_name: str | None = None) -> logging.Handler:
    """Write the root logger's records to stderr as the Lambda runtime does (text format).

    Args:
        level_name: `AWS_LAMBDA_LOG_LEVEL`'s values; None: that variable, else INFO.

    Raises:
        ValueError: an unknown level name.
    """
    name = (level_name or os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "INFO").upper()
    if name not in _LOG_LEVELS:
        raise ValueError(f"log level {name!r} is not one of {', '.join(_LOG_LEVELS)}")
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(_LOG_LEVELS[name])
    return handler


class LambdaContext:
    """The context object a handler receives (the fields durable handlers read)."""

    def __init__(self, function_name: str, request_id: str, timeout: float) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        self.memory_limit_in_mb = 128
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"lambda-host/{request_id}"
        self.tenant_id = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handlers(specs: list[str]) -> dict[str, Callable[..., Any]]:
    """`NAME=TARGET` specs -> handlers by name.

    Raises:
        TargetError: a spec without NAME, or a target that cannot be loaded.
    """
    handlers: dict[str, Callable[..., Any]] = {}
    for spec in specs:
        name, sep, target = spec.partition("=")
        if not sep or not name or not target:
            raise TargetError(f"{spec!r} must be NAME=path/file.py:handler or NAME=package.module:handler")
        handlers[name] = Target.parse(target).load()
    return handlers


class LambdaHost:
    """Serves `handlers` on the Lambda Invoke route at `host:port` (0: an ephemeral port)."""

    def __init__(
        self,
        handlers: dict[str, Callable[..., Any]],
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.handlers = handlers
        self.timeout = timeout
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                try:
                    owner.handle(self)
                except (BrokenPipeError, ConnectionResetError):  # before an invocation ran
                    _LOG.warning("the caller of %s went away before its answer", self.path)
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def start(self) -> threading.Thread:
        """Serve on a daemon thread (for tests); `close` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="lambda-host", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        match = _ROUTE.fullmatch(request.path.split("?", 1)[0])
        declared = request.headers.get("Content-Length") or "0"
        if not declared.isdigit() or int(declared) > limits.MAX_WIRE_PAYLOAD_BYTES:
            request.close_connection = True
            return _answer(
                request,
                413 if declared.isdigit() else 400,
                {
                    "message": f"Content-Length {declared[:40]!r} is not a length up to {limits.MAX_WIRE_PAYLOAD_BYTES}"
                },
                "RequestTooLargeException" if declared.isdigit() else "InvalidRequestContentException",
            )
        length = int(declared)
        body = request.rfile.read(length) if length else b""
        if len(body) != length:  # the client went away before its whole event arrived: run nothing
            request.close_connection = True
            return None
        if match is None:
            return _answer(request, 404, {"message": f"no route {request.path}"})
        name = unquote(match.group(1))
        handler = self.handlers.get(name)
        if handler is None:
            return _answer(
                request,
                404,
                {"Type": "User", "message": f"Function not found: {name}"},
                "ResourceNotFoundException",
            )
        try:
            event = json.loads(body) if body else {}
        except ValueError as exc:
            return _answer(
                request, 400, {"message": f"the event is not JSON: {exc}"}, "InvalidRequestContentException"
            )
        request_id = request.headers.get("X-Amz-Request-Id") or str(uuid.uuid4())
        global _last_request_id
        _last_request_id = request_id
        token = _request_id.set(request_id)
        try:
            try:
                result = handler(event, LambdaContext(name, request_id, self.timeout))
                text = json.dumps(result)
            except Exception as exc:
                # Logged as the Lambda runtime logs an unhandled error, then answered.
                _LOG.error("%s: %s", type(exc).__name__, exc, exc_info=exc)
                error = {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exception(exc),
                }
                return _answer(request, 200, error, function_error="Unhandled")
            _send(request, 200, text.encode())
        except (BrokenPipeError, ConnectionResetError):
            # The engine stopped waiting (the invocation timed out): one line, under this
            # invocation's request id, not the server's traceback.
            _LOG.warning("the caller of %s went away before its answer (it timed out?)", name)
            request.close_connection = True
        finally:
            _request_id.reset(token)


def _answer(
    request: BaseHTTPRequestHandler,
    status: int,
    body: dict[str, Any],
    error_type: str | None = None,
    *,
    function_error: str | None = None,
) -> None:
    headers = {}
    if error_type:
        headers["X-Amzn-ErrorType"] = error_type
    if function_error:
        headers["X-Amz-Function-Error"] = function_error
    _send(request, status, json.dumps(body).encode(), headers)


def _send(
    request: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str] | None = None
) -> None:
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(data)))
    for key, value in (headers or {}).items():
        request.send_header(key, value)
    request.end_headers()
    request.wfile.write(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m perdure.link.lambda_host",
        description="Serve Lambda handlers on the Lambda Invoke API (as the Runtime Interface Emulator does).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default: 8080; 0: any free)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help="the handlers' Lambda timeout, in seconds",
    )
    parser.add_argument(
        "--compat", action="store_true", help="run handlers importing the official SDK on perdure's SDK"
    )
    parser.add_argument(
        "functions", nargs="+", metavar="NAME=TARGET", help="a handler to serve as function NAME"
    )
    args = parser.parse_args(argv)
    if importlib.util.find_spec("boto3") is None:
        # Each handler's SDK checkpoints through boto3's Lambda client, as on AWS Lambda,
        # where the runtime provides it: without it every invocation would fail.
        print(
            "lambda host: boto3 is not installed in this environment; the handlers' SDK reaches"
            " `perdure serve` through boto3's Lambda client (pip install boto3)",
            file=sys.stderr,
        )
        return 2
    try:
        configure_logging()
    except ValueError as exc:
        print(f"lambda host: AWS_LAMBDA_LOG_LEVEL: {exc}", file=sys.stderr)
        return 2
    if args.compat:
        from perdure.compat import install

        install()
    try:
        handlers = load_handlers(args.functions)
    except TargetError as exc:
        print(f"lambda host: {exc}", file=sys.stderr)
        return 2
    host = LambdaHost(handlers, args.host, args.port, timeout=args.timeout)
    print(f"lambda host: listening on {host.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        host.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
