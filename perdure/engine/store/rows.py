"""Rows as the SQL stores write and read them: the column lists and the conversions between
stored rows and `ExecutionRecord`, `Operation` and `Event` values (one place for both backends).

Times are integer microseconds since the epoch; an error is its compact wire JSON.
Imports only `perdure.wire` and the standard library.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from perdure.wire.types import (
    CallbackDetails,
    ChainedInvokeDetails,
    ContextDetails,
    ErrorObject,
    Event,
    EventResult,
    EventType,
    ExecutionDetails,
    ExecutionStatus,
    Operation,
    OperationStatus,
    OperationType,
    StepDetails,
    WaitDetails,
)

from .records import (
    ExecutionRecord,
    OperationSummary,
    details_from_json,
    error_from_json,
    error_to_json,
    from_us,
    opt_from_us,
    opt_to_us,
    start_of,
    to_us,
)

EXEC_COLUMNS = (
    "key, arn, execution_id, function_name, function_arn, name, status, input_payload, start_us,"
    " end_us, execution_timeout, result, error, closing_status, checkpoint_token, request_id,"
    " invocation_start_us, next_event_id, operation_count, needs_invocation, invoke_after_us,"
    " failed_invocations, invocation_count, updated_operation_ids, invoker, parent_arn,"
    " parent_operation_id, revoked_token, change_seq, reported_seq"
)
OP_COLUMNS = (
    "seq, operation_id, type, status, parent_id, name, sub_type, start_us, end_us, attempt,"
    " next_attempt_us, scheduled_end_us, result, error, replay_children, input_payload, callback_id"
)
SUMMARY_COLUMNS = (
    "seq, operation_id, type, status, parent_id, name, sub_type, start_us, end_us, attempt,"
    " next_attempt_us, scheduled_end_us, callback_id, replay_children, error"
)
"""An operation's columns without its payloads (`summary_from_row`)."""
EVENT_COLUMNS = "event_id, event_type, timestamp_us, operation_id, name, sub_type, parent_id, details"
EXEC_SET_COLUMNS = EXEC_COLUMNS.removeprefix("key, ").split(", ")
"""The execution columns a write sets (all but the key), in `exec_values` order."""


_EXECUTION_STATUSES = {s._value_: s for s in ExecutionStatus}
_OPERATION_TYPES = {t._value_: t for t in OperationType}
_OPERATION_STATUSES = {s._value_: s for s in OperationStatus}
_EVENT_TYPES = {t._value_: t for t in EventType}
"""Stored names to members: a dict lookup is ten times cheaper than calling the enum."""


def exec_from_row(row: Sequence[Any]) -> ExecutionRecord:
    ids = row[23]
    return ExecutionRecord(
        key=row[0],
        arn=row[1],
        execution_id=row[2],
        function_name=row[3],
        function_arn=row[4],
        name=row[5],
        status=_EXECUTION_STATUSES[row[6]],
        input_payload=row[7],
        start_timestamp=from_us(row[8]),
        end_timestamp=opt_from_us(row[9]),
        execution_timeout=row[10],
        result=row[11],
        error=error_from_json(row[12]),
        closing_status=None if row[13] is None else _EXECUTION_STATUSES[row[13]],
        checkpoint_token=row[14],
        request_id=row[15],
        invocation_started=opt_from_us(row[16]),
        next_event_id=row[17],
        operation_count=row[18],
        needs_invocation=bool(row[19]),
        invoke_after=opt_from_us(row[20]),
        failed_invocations=row[21],
        invocation_count=row[22],
        updated_operation_ids=tuple(ids.split(",")) if ids else (),
        invoker=row[24],
        parent_arn=row[25],
        parent_operation_id=row[26],
        revoked_token=row[27],
        change_seq=row[28],
        reported_seq=row[29],
    )


def exec_values(r: ExecutionRecord) -> tuple[Any, ...]:
    # The None tests of `opt_to_us` and `error_to_json` are written inline: this runs for
    # every checkpoint, and most of these members are None.
    return (
        r.arn,
        r.execution_id,
        r.function_name,
        r.function_arn,
        r.name,
        r.status._value_,  # `.value` is a property: this runs for every checkpoint
        r.input_payload,
        to_us(r.start_timestamp),
        None if r.end_timestamp is None else to_us(r.end_timestamp),
        r.execution_timeout,
        r.result,
        None if r.error is None else error_to_json(r.error),
        None if r.closing_status is None else r.closing_status.value,
        r.checkpoint_token,
        r.request_id,
        None if r.invocation_started is None else to_us(r.invocation_started),
        r.next_event_id,
        r.operation_count,
        int(r.needs_invocation),
        None if r.invoke_after is None else to_us(r.invoke_after),
        r.failed_invocations,
        r.invocation_count,
        ",".join(r.updated_operation_ids),
        r.invoker,
        r.parent_arn,
        r.parent_operation_id,
        r.revoked_token,
        r.change_seq,
        r.reported_seq,
    )


def op_values(op: Operation) -> tuple[Any, ...]:
    attempt = next_attempt = scheduled_end = result = error = replay = input_payload = callback_id = None
    if op.step_details is not None:
        d = op.step_details
        attempt, result, error = d.attempt, d.result, d.error
        if d.next_attempt_timestamp is not None:  # inline None tests: this runs for every write
            next_attempt = to_us(d.next_attempt_timestamp)
    elif op.wait_details is not None:
        scheduled_end = opt_to_us(op.wait_details.scheduled_end_timestamp)
    elif op.context_details is not None:
        c = op.context_details
        result, error = c.result, c.error
        replay = None if c.replay_children is None else int(c.replay_children)
    elif op.execution_details is not None:
        input_payload = op.execution_details.input_payload
    elif op.callback_details is not None:
        callback_id, result, error = (
            op.callback_details.callback_id,
            op.callback_details.result,
            op.callback_details.error,
        )
    elif op.chained_invoke_details is not None:
        result, error = op.chained_invoke_details.result, op.chained_invoke_details.error
    return (
        op.id,
        op.type._value_,  # `.value` is a property: these run for every operation written
        op.status._value_,
        op.parent_id,
        op.name,
        op.sub_type,
        to_us(start_of(op)),
        None if op.end_timestamp is None else to_us(op.end_timestamp),
        attempt,
        next_attempt,
        scheduled_end,
        result,
        None if error is None else error_to_json(error),
        replay,
        input_payload,
        callback_id,
    )


def op_from_row(row: Sequence[Any]) -> Operation:
    op_type = _OPERATION_TYPES[row[2]]
    result: str | None = row[12]
    error: ErrorObject | None = error_from_json(row[13])
    kwargs: dict[str, Any] = {}
    if op_type is OperationType.STEP:
        kwargs["step_details"] = StepDetails(
            attempt=row[9], next_attempt_timestamp=opt_from_us(row[10]), result=result, error=error
        )
    elif op_type is OperationType.WAIT:
        kwargs["wait_details"] = WaitDetails(scheduled_end_timestamp=opt_from_us(row[11]))
    elif op_type is OperationType.CONTEXT:
        kwargs["context_details"] = ContextDetails(
            replay_children=None if row[14] is None else bool(row[14]), result=result, error=error
        )
    elif op_type is OperationType.EXECUTION:
        kwargs["execution_details"] = ExecutionDetails(input_payload=row[15])
    elif op_type is OperationType.CALLBACK:
        kwargs["callback_details"] = CallbackDetails(callback_id=row[16], result=result, error=error)
    elif op_type is OperationType.CHAINED_INVOKE:
        kwargs["chained_invoke_details"] = ChainedInvokeDetails(result=result, error=error)
    return Operation(
        id=row[1],
        type=op_type,
        status=_OPERATION_STATUSES[row[3]],
        parent_id=row[4],
        name=row[5],
        sub_type=row[6],
        start_timestamp=from_us(row[7]),
        end_timestamp=opt_from_us(row[8]),
        **kwargs,
    )


def summary_from_row(row: Sequence[Any]) -> tuple[int, OperationSummary]:
    """A `SUMMARY_COLUMNS` row as (seq, summary)."""
    return (
        row[0],
        OperationSummary(
            id=row[1],
            type=_OPERATION_TYPES[row[2]],
            status=_OPERATION_STATUSES[row[3]],
            parent_id=row[4],
            name=row[5],
            sub_type=row[6],
            start_us=row[7],
            end_us=row[8],
            attempt=row[9],
            next_attempt_us=row[10],
            scheduled_end_us=row[11],
            callback_id=row[12],
            replay_children=None if row[13] is None else bool(row[13]),
            error=error_from_json(row[14]),
        ),
    )


def event_from_row(row: Sequence[Any]) -> Event:
    details = details_from_json(row[7])
    if row[8] is not None:  # the result is kept by its operation or execution (schema 6)
        truncated = details.result.truncated if details.result is not None else False
        details = replace(details, result=EventResult(payload=row[8], truncated=truncated))
    return Event(
        event_id=row[0],
        event_type=_EVENT_TYPES[row[1]],
        event_timestamp=from_us(row[2]),
        id=row[3],
        name=row[4],
        sub_type=row[5],
        parent_id=row[6],
        details=details,
    )
