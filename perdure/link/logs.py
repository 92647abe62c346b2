"""Capturing an execution's log lines as structured records.

A record is a dict with a `message` field (and whatever structured fields the SDK logger
attached, e.g. `executionArn`, `operationId`), plus `timestamp` (epoch seconds) and
`level`. Plain `print` output becomes `{"message": line}`. Records are attributed to an
execution by their `executionArn`/`durableExecutionArn` field, else by the invocation the
link is running on the current thread, else by the only running invocation.
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

_current_arn: contextvars.ContextVar[str | None] = contextvars.ContextVar("perdure_link_arn", default=None)
_active: dict[str, int] = {}
_active_lock = threading.Lock()

_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_ARN_FIELDS = ("executionArn", "durableExecutionArn", "execution_arn", "durable_execution_arn")


class LogSink(Protocol):
    """Receives every captured record with the execution it belongs to (None if unknown)."""

    def emit(self, arn: str | None, record: dict[str, Any]) -> None: ...


class LogStore:
    """A thread-safe, in-memory `LogSink` that keeps records per execution."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str | None, list[dict[str, Any]]] = {}

    def emit(self, arn: str | None, record: dict[str, Any]) -> None:
        with self._lock:
            self._records.setdefault(arn, []).append(record)

    def records(self, arn: str | None) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records.get(arn, []))


def arn_of(record: dict[str, Any]) -> str | None:
    for name in _ARN_FIELDS:
        value = record.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def current_arn() -> str | None:
    """The execution whose invocation runs here, or the only one running anywhere."""
    arn = _current_arn.get()
    if arn is not None:
        return arn
    with _active_lock:
        if len(_active) == 1:
            return next(iter(_active))
    return None


@contextmanager
def running(arn: str) -> Iterator[None]:
    """Mark `arn` as the execution whose invocation runs in this block."""
    token = _current_arn.set(arn)
    with _active_lock:
        _active[arn] = _active.get(arn, 0) + 1
    try:
        yield
    finally:
        with _active_lock:
            left = _active.get(arn, 1) - 1
            if left:
                _active[arn] = left
            else:
                _active.pop(arn, None)
        _current_arn.reset(token)


def record_to_dict(record: logging.LogRecord) -> dict[str, Any]:
    """A `logging` record as a JSON-able dict with a `message` field."""
    out: dict[str, Any] = {
        "timestamp": record.created,
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
    }
    for key, value in vars(record).items():
        if key not in _STANDARD_ATTRS and not key.startswith("_"):
            out[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
    return out


def line_to_dict(line: str, timestamp: float | None = None) -> dict[str, Any]:
    """A printed line: a JSON object stays structured, anything else is `{"message": line}`.

    A line without its own `timestamp` gets `timestamp` (when it was printed; else now).
    """
    text = line.rstrip("\n")
    when = time.time() if timestamp is None else timestamp
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            value.setdefault("timestamp", when)
            return value
    return {"message": text, "timestamp": when}


class CaptureHandler(logging.Handler):
    """A `logging.Handler` that forwards records to a sink."""

    def __init__(self, sink: LogSink) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = record_to_dict(record)
            self.sink.emit(arn_of(data) or current_arn(), data)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


@contextmanager
def capture_logging(sink: LogSink, level: int = logging.INFO) -> Iterator[CaptureHandler]:
    """Install a `CaptureHandler` on the root logger for the block."""
    handler = CaptureHandler(sink)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
