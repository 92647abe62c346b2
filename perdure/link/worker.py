"""The worker process of the process-isolation link (`python -m perdure.link.worker TARGET`).

It loads the target handler once, then serves invocations sent by the parent on stdin.
Its service client forwards checkpoint and get-state calls to the parent's engine over the
same pipe. The protocol owns the original stdout; `print` output and `logging` records are
forwarded to the parent as log messages, so a crash (`os._exit`) loses nothing already
printed. A handler exception is reported; a dead worker is the parent's business.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import traceback
from typing import IO, Any, TypeVar

from perdure.wire.codec import from_wire, to_wire
from perdure.wire.errors import service_error_for
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    GetDurableExecutionStateRequest,
    GetDurableExecutionStateResponse,
    InvocationInput,
)

from .logs import record_to_dict
from .protocol import TIMESTAMPS, LineChannel

T = TypeVar("T")


class PipeServiceClient:
    """A `DurableServiceClient` whose calls the parent's engine answers."""

    def __init__(self, channel: LineChannel) -> None:
        self.channel = channel
        self._lock = threading.Lock()

    def _call(self, method: str, request: Any, response_type: type[T]) -> T:
        with self._lock:
            self.channel.send(
                {"op": "call", "method": method, "request": to_wire(request, timestamps=TIMESTAMPS)}
            )
            reply = self.channel.receive()
        if reply is None:
            os._exit(3)  # the parent is gone: nothing sensible is left to do
        if reply.get("op") != "reply":
            raise RuntimeError(f"unexpected message from the engine: {reply.get('op')!r}")
        error = reply.get("error")
        if error is not None:
            raise service_error_for(str(error.get("code", "")), str(error.get("message", "")))
        return from_wire(response_type, reply.get("response") or {}, timestamps=TIMESTAMPS)

    def checkpoint_durable_execution(
        self, request: CheckpointDurableExecutionRequest
    ) -> CheckpointDurableExecutionResponse:
        return self._call("checkpoint_durable_execution", request, CheckpointDurableExecutionResponse)

    def get_durable_execution_state(
        self, request: GetDurableExecutionStateRequest
    ) -> GetDurableExecutionStateResponse:
        return self._call("get_durable_execution_state", request, GetDurableExecutionStateResponse)


class _ForwardingStream:
    """A text stream that sends each complete line to the parent as a log record."""

    def __init__(self, channel: LineChannel, name: str) -> None:
        self.channel = channel
        self.name = name
        self._buffer = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            lines = self._buffer.split("\n")
            self._buffer = lines.pop()
        for line in lines:
            self.channel.send({"op": "print", "line": line, "timestamp": time.time()})
        return len(text)

    def flush(self) -> None:
        with self._lock:
            rest, self._buffer = self._buffer, ""
        if rest:
            self.channel.send({"op": "print", "line": rest, "timestamp": time.time()})

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


class _ForwardingHandler(logging.Handler):
    def __init__(self, channel: LineChannel) -> None:
        super().__init__(logging.DEBUG)
        self.channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.channel.send({"op": "log", "record": record_to_dict(record)})
        except Exception:  # pragma: no cover
            self.handleError(record)


class _Context:
    """A Lambda-like context rebuilt from the parent's fields."""

    def __init__(self, fields: dict[str, Any]) -> None:
        for key, value in fields.items():
            setattr(self, key, value)
        self._deadline = time.monotonic() + float(fields.get("remaining_millis", 900_000)) / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _setup_streams() -> LineChannel:
    protocol_out: IO[str] = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # stray writes to fd 1 go to stderr, never into the protocol
    channel = LineChannel(sys.stdin, protocol_out)
    sys.stdout = _ForwardingStream(channel, "<stdout>")
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_ForwardingHandler(channel))
    root.setLevel(logging.INFO)
    return channel


def serve(target_text: str, *, compat: bool) -> int:
    channel = _setup_streams()
    if compat:
        from perdure.compat import install

        install()
    from perdure.sdk.execution import InvocationInputWithClient

    from .target import Target, as_lambda_handler, is_durable_handler

    try:
        loaded = Target.parse(target_text).load()
        handler = as_lambda_handler(loaded)
    except BaseException as exc:
        channel.send({"op": "load_error", "message": f"{type(exc).__name__}: {exc}"})
        return 2
    channel.send({"op": "ready", "pid": os.getpid(), "durable": is_durable_handler(loaded)})
    client = PipeServiceClient(channel)
    while True:
        message = channel.receive()
        if message is None:
            return 0
        if message.get("op") != "invoke":
            continue
        try:
            invocation = from_wire(InvocationInput, message["input"], timestamps=TIMESTAMPS)
            output = handler(
                InvocationInputWithClient(input=invocation, client=client), _Context(message["context"])
            )
            sys.stdout.flush()
            channel.send({"op": "result", "output": output})
        except BaseException as exc:
            sys.stdout.flush()
            channel.send(
                {
                    "op": "raised",
                    "error": {
                        "type": type(exc).__name__,
                        "message": str(exc),
                        "stack": traceback.format_exception(exc),
                    },
                }
            )


def main(argv: list[str] | None = None) -> int:
    # The parent (`perdure run`, `perdure serve`) ends its workers when it stops: a terminal's
    # Ctrl-C, which reaches the whole process group, is the parent's to handle, not a traceback here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    args = list(sys.argv[1:] if argv is None else argv)
    compat = "--compat" in args
    args = [a for a in args if a != "--compat"]
    if len(args) != 1:
        print("usage: python -m perdure.link.worker TARGET [--compat]", file=sys.stderr)
        return 2
    return serve(args[0], compat=compat)


if __name__ == "__main__":
    sys.exit(main())
