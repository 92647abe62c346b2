"""What the console's pages show, as JSON-ready dicts, read through `EngineService`.

Each function answers one page's first paint (or one lazily opened part of it) from the
engine's read methods (`list_executions`, `execution_operations`, `get_operation`,
`get_durable_execution_history`); there is no SQL here. Operations are sent without their
payloads (a 3,000-operation execution is a few hundred KiB); one operation's input,
result and error are read when it is opened. Times are epoch milliseconds.
Imports `perdure.engine`, `perdure.wire`, and `perdure.sdk.serdes` (to decode payloads
the SDK's default serdes wrote).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from perdure.engine.registry import function_name_of
from perdure.engine.service import EngineService
from perdure.engine.store import ExecutionQuery, ExecutionRecord, OperationSummary
from perdure.sdk.serdes import ExtendedTypeSerDes
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import (
    ErrorObject,
    Event,
    EventType,
    ExecutionStatus,
    GetDurableExecutionHistoryRequest,
    OperationType,
)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
COLLAPSE_CHARS = 4096
"""A payload longer than this (pretty-printed) is sent whole but shown collapsed."""


def ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def list_page(
    service: EngineService,
    *,
    function: str | None = None,
    statuses: Iterable[str] = (),
    name: str | None = None,
    after: int | None = None,
    limit: int = PAGE_SIZE,
) -> dict[str, Any]:
    """A page of executions, newest first, and the marker of the next one (None: the last).

    Raises:
        InvalidParameterValueError: an unknown status or a limit out of 1..MAX_PAGE_SIZE.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidParameterValueError(f"limit must be 1..{MAX_PAGE_SIZE}, got {limit}")
    try:
        wanted = tuple(ExecutionStatus(s) for s in statuses if s)
    except ValueError as exc:
        known = ", ".join(s.value for s in ExecutionStatus)
        raise InvalidParameterValueError(f"{exc} (statuses: {known})") from None
    query = ExecutionQuery(
        function_name=function_name_of(function) if function else None,
        statuses=wanted or None,
        name_contains=name or None,
        reverse=True,
        after_key=after,
        limit=limit + 1,
    )
    records = service.list_executions(query)
    more = len(records) > limit
    page = records[:limit]
    return {
        "executions": [_execution_row(r) for r in page],
        "next": page[-1].key if more else None,
    }


def _execution_row(r: ExecutionRecord) -> dict[str, Any]:
    return {
        "arn": r.arn,
        "name": r.name,
        "function": r.function_name,
        "status": r.status.value,
        "start": ms(r.start_timestamp),
        "end": ms(r.end_timestamp),
    }


def execution_page(service: EngineService, arn: str) -> dict[str, Any]:
    """One execution: its summary, every operation (no payloads), and each retried step's
    attempts (read from the history only when a step was retried).

    Raises:
        ResourceNotFoundError: no such execution.
    """
    rec, operations = service.operation_summaries(arn)
    ops = [_operation_row(op) for _seq, op in operations]
    retried = {o["id"] for o in ops if _was_retried(o)}
    return {
        "execution": {
            **_execution_row(rec),
            "error": _error(rec.error),
            "parentArn": rec.parent_arn,
        },
        "version": version_of(rec),
        "now": ms(service.clock.now()),
        "operations": ops,
        "attempts": _attempts(service, arn, retried) if retried else {},
    }


def version_of(rec: ExecutionRecord) -> str:
    """Changes whenever the execution records anything (each change appends an event)."""
    return f"{rec.status.value}:{rec.next_event_id}"


def execution_version(service: EngineService, arn: str) -> dict[str, Any]:
    """What a live page polls: the execution's status and `version_of`."""
    rec = service.execution_record(arn)
    return {"status": rec.status.value, "version": version_of(rec)}


def _operation_row(op: OperationSummary) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": op.id,
        "parent": op.parent_id,
        "type": op.type._value_,  # `.value` is a property: this runs for each of 3,000 rows
        "subType": op.sub_type,
        "name": op.name,
        "status": op.status._value_,
        "start": op.start_us // 1000,
        "end": _ms_of_us(op.end_us),
    }
    if op.type is OperationType.STEP:
        row["attempt"] = op.attempt
        row["nextAttempt"] = _ms_of_us(op.next_attempt_us)
    elif op.type is OperationType.WAIT:
        row["scheduledEnd"] = _ms_of_us(op.scheduled_end_us)
    elif op.type is OperationType.CALLBACK:
        row["callbackId"] = op.callback_id
    elif op.type is OperationType.CONTEXT:
        row["replayChildren"] = bool(op.replay_children)
    if op.error is not None:
        row["error"] = {"type": op.error.error_type, "message": op.error.error_message}
    return row


def _was_retried(row: dict[str, Any]) -> bool:
    """Whether a step row had more than one attempt. A running step's `attempt` counts the
    attempts that ended before it (0 on the first run); an ended step's counts them all, the
    last included (1 after a first-try success)."""
    attempt = row.get("attempt") or 0
    ended = row["status"] in ("SUCCEEDED", "FAILED")
    return attempt > (1 if ended else 0) or row.get("nextAttempt") is not None


def _ms_of_us(value: int | None) -> int | None:
    return None if value is None else value // 1000


def _attempts(service: EngineService, arn: str, retried: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Each retried step's attempts, from its StepStarted / StepFailed / StepSucceeded events."""
    attempts: dict[str, list[dict[str, Any]]] = {op_id: [] for op_id in retried}
    for event in _history(service, arn, include_data=True):
        if event.id not in attempts:
            continue
        runs = attempts[event.id]
        at = ms(event.event_timestamp)
        if event.event_type is EventType.STEP_STARTED:
            runs.append({"start": at, "end": None, "status": "STARTED"})
        elif event.event_type in (EventType.STEP_FAILED, EventType.STEP_SUCCEEDED):
            if not runs or runs[-1]["end"] is not None:
                runs.append({"start": at, "end": None, "status": "STARTED"})
            run = runs[-1]
            run["end"] = at
            run["status"] = "FAILED" if event.event_type is EventType.STEP_FAILED else "SUCCEEDED"
            failure = event.details.error
            if failure is not None and failure.payload is not None:
                run["error"] = {"type": failure.payload.error_type, "message": failure.payload.error_message}
            retry = event.details.retry_details
            if retry is not None and retry.next_attempt_delay_seconds:
                run["retryIn"] = retry.next_attempt_delay_seconds
    return attempts


def _history(service: EngineService, arn: str, *, include_data: bool) -> Iterable[Event]:
    marker: str | None = None
    while True:
        page = service.get_durable_execution_history(
            GetDurableExecutionHistoryRequest(
                durable_execution_arn=arn, include_execution_data=include_data, marker=marker
            )
        )
        yield from page.events
        marker = page.next_marker
        if marker is None:
            return


def operation_detail(service: EngineService, arn: str, operation_id: str | None) -> dict[str, Any]:
    """One operation's payloads (None: the execution's input and result), decoded and
    pretty-printed, and its error in full.

    Raises:
        ResourceNotFoundError: no such execution or operation.
    """
    if operation_id is None:
        rec = service.execution_record(arn)
        return {
            "id": None,
            "input": payload(rec.input_payload),
            "result": payload(rec.result),
            "error": _error(rec.error),
        }
    op = service.get_operation(arn, operation_id)
    detail: dict[str, Any] = {"id": op.id}
    result: str | None = None
    error: ErrorObject | None = None
    for details in (op.step_details, op.callback_details, op.context_details, op.chained_invoke_details):
        if details is not None:
            result, error = details.result, details.error
    if op.type is OperationType.EXECUTION:
        rec = service.execution_record(arn)
        result, error = rec.result, rec.error
        if op.execution_details is not None:
            detail["input"] = payload(op.execution_details.input_payload)
    if op.context_details is not None and op.context_details.replay_children:
        detail["summary"] = True
    detail["result"] = payload(result)
    detail["error"] = _error(error)
    return detail


def payload(text: str | None) -> dict[str, Any] | None:
    """A payload for display: decoded (the SDK's default serdes envelopes, `{"t": tag, "v":
    value}`, become the values they hold) and pretty-printed when it is JSON, its size, and
    whether the page should show it collapsed."""
    if text is None:
        return None
    try:
        value = _EXTENDED.deserialize(text)
        encoded = True
    except Exception:  # not the envelope format: shown as the JSON (or text) it is
        encoded = False
        try:
            value = json.loads(text)
        except ValueError:
            value = _NOT_JSON
    shown = text if value is _NOT_JSON else json.dumps(value, indent=2, ensure_ascii=False, default=_shown)
    return {
        "text": shown,
        "json": value is not _NOT_JSON,
        "decoded": encoded and shown != text,
        "bytes": len(text.encode()),
        "collapsed": len(shown) > COLLAPSE_CHARS,
    }


_EXTENDED = ExtendedTypeSerDes()
_NOT_JSON = object()


def _shown(value: Any) -> Any:
    """What a decoded value that JSON cannot hold is shown as."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return str(value)  # datetime, date, UUID, Decimal


def _error(error: ErrorObject | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {
        "type": error.error_type,
        "message": error.error_message,
        "data": error.error_data,
        "stackTrace": list(error.stack_trace or ()),
    }
