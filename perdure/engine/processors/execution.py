"""The EXECUTION operation: its creation, EXECUTION updates, and the execution's end.

An EXECUTION SUCCEED/FAIL update is how the SDK delivers a result too large for the
invocation response, so its payload is not held to the 256 KiB, 750 KiB or 6 MiB limits.
Its Id is synthetic (`execution-result-<ms>`), so it is not stored as an operation: it
marks the execution as closing, revokes the checkpoint token, and the end is recorded
when the invocation returns (after its InvocationCompleted event).
Imports only `perdure.wire`, `perdure.engine` internals and the standard library.
"""

from __future__ import annotations

from dataclasses import replace

from perdure.wire.types import (
    ErrorObject,
    EventDetails,
    EventInput,
    EventType,
    ExecutionDetails,
    ExecutionStatus,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

from . import chained_invoke
from ._base import Batch, error_size_rule, event_error, event_result, reject

_EVENT_FOR = {
    ExecutionStatus.SUCCEEDED: EventType.EXECUTION_SUCCEEDED,
    ExecutionStatus.FAILED: EventType.EXECUTION_FAILED,
    ExecutionStatus.STOPPED: EventType.EXECUTION_STOPPED,
    ExecutionStatus.TIMED_OUT: EventType.EXECUTION_TIMED_OUT,
}
_OP_STATUS_FOR = {
    ExecutionStatus.SUCCEEDED: OperationStatus.SUCCEEDED,
    ExecutionStatus.FAILED: OperationStatus.FAILED,
    ExecutionStatus.STOPPED: OperationStatus.STOPPED,
    ExecutionStatus.TIMED_OUT: OperationStatus.TIMED_OUT,
}


def process(batch: Batch, update: OperationUpdate, current: Operation | None) -> None:
    execution = batch.execution
    if update.action not in (OperationAction.SUCCEED, OperationAction.FAIL):
        raise reject("an EXECUTION update accepts SUCCEED or FAIL only")
    if execution.closing_status is not None:
        raise reject("the execution's outcome was already checkpointed")
    # No size check on the payload: this update exists to carry results over the 6 MiB
    # response limit. Its error has no such reason, and is bounded like any stored error.
    rule = error_size_rule(update.error)
    if rule is not None:
        raise reject(rule)
    if update.action is OperationAction.SUCCEED:
        execution.closing_status = ExecutionStatus.SUCCEEDED
        execution.result, execution.error = update.payload, None
    else:
        execution.closing_status = ExecutionStatus.FAILED
        execution.result, execution.error = (
            None,
            update.error or ErrorObject(error_message="execution failed"),
        )


def start(batch: Batch) -> None:
    """Record a new execution's EXECUTION operation and `ExecutionStarted` (EventId 1)."""
    execution = batch.execution
    op = Operation(
        id=execution.execution_id,
        type=OperationType.EXECUTION,
        status=OperationStatus.STARTED,
        start_timestamp=batch.now,
        execution_details=ExecutionDetails(input_payload=execution.input_payload),
    )
    batch.changed[op.id] = op  # seq 0: the EXECUTION operation comes first and is not counted
    batch.event(
        EventType.EXECUTION_STARTED,
        op,
        EventDetails(
            input=EventInput(payload=execution.input_payload, truncated=False),
            execution_timeout=execution.execution_timeout,
        ),
    )


def finish(batch: Batch, status: ExecutionStatus, result: str | None, error: ErrorObject | None) -> None:
    """End the execution: status, EXECUTION operation, terminal event; nothing left to run."""
    execution = batch.execution
    execution.status = status
    execution.end_timestamp = batch.now
    execution.result = result if status is ExecutionStatus.SUCCEEDED else None
    execution.error = None if status is ExecutionStatus.SUCCEEDED else error
    execution.closing_status = None
    execution.checkpoint_token = None
    execution.needs_invocation = False
    execution.invoke_after = None
    op = batch.get(execution.execution_id)
    if op is not None:
        batch.changed[op.id] = replace(op, status=_OP_STATUS_FOR[status], end_timestamp=batch.now)
    if status is ExecutionStatus.SUCCEEDED:
        details = EventDetails(result=event_result(result))
    else:
        details = EventDetails(error=event_error(execution.error))
    batch.event(_EVENT_FOR[status], op, details)
    batch.tx.delete_timers(execution.key)
    # An invoked execution completes its caller's CHAINED_INVOKE operation (same transaction).
    chained_invoke.child_ended(batch.tx, batch.now, execution)
