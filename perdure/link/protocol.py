"""The worker pipe protocol: one JSON object per line, wire values in the codec's shape.

parent -> worker: `{"op": "invoke", "input": <InvocationInput>, "context": {...}}`,
`{"op": "reply", "response": {...}}` or `{"op": "reply", "error": {"code", "message"}}`.
worker -> parent: `{"op": "ready"}` / `{"op": "load_error", "message"}`,
`{"op": "call", "method": "checkpoint_durable_execution", "request": {...}}`,
`{"op": "log", "record": {...}}`, `{"op": "result", "output": {...}}`,
`{"op": "raised", "error": {"type", "message", "stack"}}`.
Timestamps use epoch milliseconds, as in the invocation event.
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import IO, Any, Final

TIMESTAMPS: Final = "epoch_millis"
CONTEXT_FIELDS = (
    "aws_request_id",
    "function_name",
    "function_version",
    "invoked_function_arn",
    "memory_limit_in_mb",
    "log_group_name",
    "log_stream_name",
    "tenant_id",
)


class ProtocolError(Exception):
    """A malformed line on the worker pipe."""


class LineChannel:
    """Writes and reads JSON lines on a pair of text streams (writes are serialised)."""

    def __init__(self, reader: IO[str], writer: IO[str]) -> None:
        self.reader = reader
        self.writer = writer
        self._write_lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        text = json.dumps(message, separators=(",", ":"), default=str)
        with self._write_lock:
            self.writer.write(text + "\n")
            self.writer.flush()

    def receive(self) -> dict[str, Any] | None:
        """The next message, or None at end of stream."""
        line = self.reader.readline()
        if not line:
            return None
        try:
            message = json.loads(line)
        except ValueError:
            raise ProtocolError(f"not a JSON line: {line[:200]!r}") from None
        if not isinstance(message, dict) or "op" not in message:
            raise ProtocolError(f"not a message: {line[:200]!r}")
        return message


def context_to_dict(context: Any) -> dict[str, Any]:
    """The plain fields of a Lambda-like context object."""
    out: dict[str, Any] = {}
    for name in CONTEXT_FIELDS:
        value = getattr(context, name, None)
        if isinstance(value, str | int | float | bool):
            out[name] = value
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        with contextlib.suppress(Exception):
            out["remaining_millis"] = int(remaining())
    return out
