"""CHAINED_INVOKE processing: a START starts the target function as its own durable
execution; the target's end completes the operation from the service side.

START (`ChainedInvokeOptions{FunctionName, TenantId?}`, `Payload` = the serialized input)
resolves the function in the registry (bare name, function ARN or qualified ARN) through
`Batch.start_execution`, in the same transaction as the checkpoint, and records
`ChainedInvokeStarted{FunctionName, TenantId, Input, ExecutedVersion, DurableExecutionArn}`.
The invoked execution has its own ARN and history; its name is derived from the calling
execution and the operation id, so a repeated START finds the same execution instead of
starting another (an identical re-START changes nothing; a different one is refused).
An unknown function fails the operation in the same response (`ResourceNotFoundException`),
as the service does, so the caller never waits on something that cannot run.

When the invoked execution ends (`child_ended`, called from `execution.finish`) the
operation becomes SUCCEEDED (its result), FAILED (its error), TIMED_OUT or STOPPED, with
the matching `ChainedInvoke*` event, and the caller is invoked again. The input and the
result are limited to `MAX_CHAINED_INVOKE_PAYLOAD_BYTES` (256 KiB, the per-operation
payload limit). Imports only `perdure.wire`, `perdure.engine` internals and the stdlib.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

from perdure.engine.errors import UnknownFunctionError
from perdure.engine.store import ExecutionRecord, StoreTx
from perdure.wire import limits
from perdure.wire.errors import DurableExecutionAlreadyStartedError
from perdure.wire.types import (
    ChainedInvokeDetails,
    ChainedInvokeOptions,
    ErrorObject,
    EventDetails,
    EventInput,
    EventType,
    ExecutionStatus,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

from ._base import Batch, check_identity, event_error, event_result, new_operation, reject

NOT_FOUND_ERROR_TYPE = "ResourceNotFoundException"
RESULT_TOO_LARGE_ERROR_TYPE = "ChainedInvoke.ResultTooLarge"

_ENDED = {
    ExecutionStatus.SUCCEEDED: (OperationStatus.SUCCEEDED, EventType.CHAINED_INVOKE_SUCCEEDED),
    ExecutionStatus.FAILED: (OperationStatus.FAILED, EventType.CHAINED_INVOKE_FAILED),
    ExecutionStatus.TIMED_OUT: (OperationStatus.TIMED_OUT, EventType.CHAINED_INVOKE_TIMED_OUT),
    ExecutionStatus.STOPPED: (OperationStatus.STOPPED, EventType.CHAINED_INVOKE_STOPPED),
}


def child_execution_name(caller: ExecutionRecord, operation_id: str) -> str:
    """The invoked execution's name: the caller's name (shortened) and a digest of the
    caller's ARN and the operation id. Deterministic, at most 57 of [a-zA-Z0-9_-]."""
    digest = hashlib.blake2b(f"{caller.arn}|{operation_id}".encode(), digest_size=16).hexdigest()
    return f"{caller.name[:24]}-{digest}"


def _check_start(update: OperationUpdate) -> ChainedInvokeOptions:
    options = update.chained_invoke_options
    if options is None or not options.function_name:
        raise reject("ChainedInvokeOptions.FunctionName is required")
    if len(options.function_name) > limits.MAX_FUNCTION_NAME_LENGTH:
        raise reject(
            f"ChainedInvokeOptions.FunctionName must be 1-{limits.MAX_FUNCTION_NAME_LENGTH} characters"
        )
    if options.tenant_id is not None and not 1 <= len(options.tenant_id) <= limits.MAX_TENANT_ID_LENGTH:
        raise reject(f"ChainedInvokeOptions.TenantId must be 1-{limits.MAX_TENANT_ID_LENGTH} characters")
    limit = limits.MAX_CHAINED_INVOKE_PAYLOAD_BYTES
    size = limits.size_over(update.payload, limit)
    if size is not None:
        raise reject(
            f"the chained invoke Payload is {size:,} bytes (UTF-8), over the {limit:,}-byte"
            " limit of an invoke payload"
        )
    return options


def process(batch: Batch, update: OperationUpdate, current: Operation | None) -> None:
    if current is not None:
        check_identity(update, current)
    if update.action is not OperationAction.START:
        raise reject(
            "a CHAINED_INVOKE accepts START only (the service completes it when the invoked execution ends)"
        )
    options = _check_start(update)
    start_execution = batch.start_execution
    if start_execution is None:
        raise reject("this request cannot start a chained invoke")
    caller = batch.execution
    started_details = EventDetails(
        function_name=options.function_name,
        tenant_id=options.tenant_id,
        input=EventInput(payload=update.payload, truncated=False),
    )
    try:
        child, created = start_execution(
            options.function_name, update.payload, child_execution_name(caller, update.id)
        )
    except UnknownFunctionError as exc:
        if current is not None:
            raise reject(f"the chained invoke was already started (it is {current.status.value})") from None
        _fail_unknown(batch, update, started_details, str(exc))
        return
    except DurableExecutionAlreadyStartedError:
        raise reject("re-START changes the Payload of the chained invoke already started") from None
    if current is not None:
        # The same START again (a retried request): it found the execution it started the
        # first time. Anything else (another function) is refused, which rolls back the
        # execution it just created.
        if created or child.parent_arn != caller.arn or child.parent_operation_id != update.id:
            raise reject("re-START changes the FunctionName of the chained invoke already started")
        batch.put(current, new=False)  # unchanged; the response shows its state again
        return
    if child.parent_arn is None:
        child.parent_arn, child.parent_operation_id = caller.arn, update.id
        batch.tx.update_execution(child)
    op = new_operation(batch, update, chained_invoke_details=ChainedInvokeDetails())
    batch.put(op, new=True)
    batch.event(
        EventType.CHAINED_INVOKE_STARTED,
        op,
        replace(
            started_details,
            executed_version=child.function_arn.rsplit(":", 1)[-1],
            durable_execution_arn=child.arn,
        ),
    )


def _fail_unknown(batch: Batch, update: OperationUpdate, started: EventDetails, message: str) -> None:
    """The target does not exist: the operation starts and fails in the same request."""
    error = ErrorObject(error_type=NOT_FOUND_ERROR_TYPE, error_message=f"Function not found: {message}")
    op = new_operation(batch, update, chained_invoke_details=ChainedInvokeDetails(error=error))
    op = replace(op, status=OperationStatus.FAILED, end_timestamp=batch.now)
    batch.put(op, new=True)
    batch.event(EventType.CHAINED_INVOKE_STARTED, op, started)
    batch.event(EventType.CHAINED_INVOKE_FAILED, op, EventDetails(error=event_error(error)))


def _outcome(child: ExecutionRecord) -> tuple[OperationStatus, EventType, str | None, ErrorObject | None]:
    status, event_type = _ENDED[child.status]
    if status is not OperationStatus.SUCCEEDED:
        return (
            status,
            event_type,
            None,
            child.error or ErrorObject(error_message="the invoked execution failed"),
        )
    result = child.result
    limit = limits.MAX_CHAINED_INVOKE_PAYLOAD_BYTES
    size = limits.size_over(result, limit)
    if size is not None:
        error = ErrorObject(
            error_type=RESULT_TOO_LARGE_ERROR_TYPE,
            error_message=f"the invoked execution's result is {size:,} bytes, over the"
            f" {limit:,}-byte limit of a chained invoke result ({child.arn})",
        )
        return OperationStatus.FAILED, EventType.CHAINED_INVOKE_FAILED, None, error
    return status, event_type, result, None


def child_ended(tx: StoreTx, now: datetime, child: ExecutionRecord) -> None:
    """Service side: `child` (an invoked execution) has just ended; complete the caller's
    CHAINED_INVOKE operation and invoke the caller again. Nothing happens if the caller
    ended meanwhile or the operation is no longer open."""
    if child.parent_arn is None or child.parent_operation_id is None:
        return
    caller = tx.get_execution(child.parent_arn)
    if caller is None or not caller.is_running:
        return
    op = tx.get_operation(caller.key, child.parent_operation_id)
    if op is None or op.type is not OperationType.CHAINED_INVOKE or op.status is not OperationStatus.STARTED:
        return
    status, event_type, result, error = _outcome(child)
    done = replace(
        op,
        status=status,
        end_timestamp=now,
        chained_invoke_details=ChainedInvokeDetails(result=result, error=error),
    )
    batch = Batch(tx, caller, now)
    batch.put(done, new=False)
    if status is OperationStatus.SUCCEEDED:
        batch.event(event_type, done, EventDetails(result=event_result(result)))
    else:
        batch.event(event_type, done, EventDetails(error=event_error(error)))
    caller.needs_invocation = True
    if op.id not in caller.updated_operation_ids:
        caller.updated_operation_ids = (*caller.updated_operation_ids, op.id)
    batch.flush()
