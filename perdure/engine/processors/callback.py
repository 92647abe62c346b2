"""CALLBACK processing: START from a checkpoint; success, failure, heartbeat and timeouts
from the service side.

A callback is created by the SDK (CALLBACK START with `CallbackOptions`) and completed by
someone else: `SendDurableExecutionCallbackSuccess/Failure` (through `resolve` and
`succeed`/`fail`), or a timer (`time_out`: `Callback.Timeout` when `TimeoutSeconds`
elapse, `Callback.Heartbeat` when `HeartbeatTimeoutSeconds` pass without a heartbeat).
Every completion re-invokes the execution, even when the handler is not blocked on the
callback (conformance 4-9, 4-19), exactly as a fired timer does.

The callback id is unguessable and bound to its execution and operation: it is the
base64 of ``1:<128 random bits, hex>:<heartbeat seconds>:<operation id>:<execution ARN>``.
The readable part only routes a request to one execution and operation without scanning
(and carries the heartbeat interval a heartbeat re-arms); the id is accepted only if it
equals, in full, the id stored on that operation, so a guessed or edited id is refused.
Imports only `perdure.wire`, `perdure.engine` internals and the standard library.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta

from perdure.engine.store import ExecutionRecord, StoreTx, TimerKind
from perdure.wire import limits
from perdure.wire.errors import CallbackTimeoutServiceError, InvalidParameterValueError, ResourceNotFoundError
from perdure.wire.types import (
    CallbackDetails,
    ErrorObject,
    EventDetails,
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

from ._base import Batch, check_identity, event_error, event_result, new_operation, reject

TIMEOUT_ERROR_TYPE = "Callback.Timeout"
HEARTBEAT_ERROR_TYPE = "Callback.Heartbeat"
_VERSION = "1"
_SECRET_BYTES = 16


# ------------------------------------------------------------------------- ids


@dataclass(frozen=True, slots=True)
class CallbackRef:
    """What a callback id routes to (not yet proof that the callback exists)."""

    arn: str
    operation_id: str
    heartbeat_seconds: int


def new_callback_id(arn: str, operation_id: str, heartbeat_seconds: int) -> str:
    """A fresh callback id for operation `operation_id` of execution `arn`."""
    raw = f"{_VERSION}:{secrets.token_hex(_SECRET_BYTES)}:{heartbeat_seconds}:{operation_id}:{arn}"
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def _shown(callback_id: str) -> str:
    return repr(callback_id if len(callback_id) <= 80 else f"{callback_id[:77]}...")


def _malformed(callback_id: str) -> InvalidParameterValueError:
    return InvalidParameterValueError(
        f"Invalid CallbackId {_shown(callback_id)}: not a callback id this service issued"
        " (they are in CallbackStartedDetails.CallbackId)"
    )


def _unknown(callback_id: str) -> ResourceNotFoundError:
    return ResourceNotFoundError(f"CallbackId {_shown(callback_id)} names no callback of this service")


def parse_callback_id(callback_id: str) -> CallbackRef:
    """Route a callback id; the caller still checks it against the stored operation.

    Raises:
        InvalidParameterValueError: the id is malformed (so it cannot be one this engine issued).
    """
    if not 1 <= len(callback_id) <= limits.MAX_CALLBACK_ID_LENGTH:
        raise _malformed(callback_id)
    try:
        raw = base64.b64decode(callback_id.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise _malformed(callback_id) from None
    parts = raw.split(":", 4)
    if len(parts) != 5 or parts[0] != _VERSION or not parts[2].isdigit():
        raise _malformed(callback_id)
    return CallbackRef(arn=parts[4], operation_id=parts[3], heartbeat_seconds=int(parts[2]))


def resolve(tx: StoreTx, callback_id: str) -> tuple[ExecutionRecord, Operation, CallbackRef]:
    """The execution and the CALLBACK operation a callback id belongs to, still open.

    Errors follow the botocore model of the callback APIs:

    Raises:
        InvalidParameterValueError: a malformed id.
        ResourceNotFoundError: a well-formed id that names no callback (unknown, forged).
        CallbackTimeoutServiceError: the callback is closed: it timed out, already
            completed, or its execution is no longer running ("the callback ID token has
            either expired or the callback associated with the token has already been closed").
    """
    ref = parse_callback_id(callback_id)
    rec = tx.get_execution(ref.arn)
    op = None if rec is None else tx.get_operation(rec.key, ref.operation_id)
    stored = None if op is None or op.callback_details is None else op.callback_details.callback_id
    if (
        rec is None
        or op is None
        or op.type is not OperationType.CALLBACK
        or stored is None
        or not secrets.compare_digest(stored.encode("utf-8"), callback_id.encode("utf-8"))
    ):
        raise _unknown(callback_id)
    label = f"callback {op.name!r} (operation {op.id})" if op.name else f"callback operation {op.id}"
    if op.status is OperationStatus.TIMED_OUT:
        raise CallbackTimeoutServiceError(
            f"{label} of {rec.arn} has timed out; it can no longer be completed"
        )
    if op.status is not OperationStatus.STARTED:
        raise CallbackTimeoutServiceError(
            f"{label} of {rec.arn} is already closed ({op.status.value}); a callback completes only once"
        )
    if not rec.is_running:
        raise CallbackTimeoutServiceError(
            f"{label} is closed: its execution {rec.arn} is {rec.status.value}, not RUNNING"
        )
    return rec, op, ref


# ------------------------------------------------------------------ checkpoint


def _seconds(value: int | None, member: str) -> int:
    if value is None:
        return 0
    if not 0 <= value <= limits.MAX_DELAY_SECONDS:
        raise reject(f"{member}={value} is outside 0..{limits.MAX_DELAY_SECONDS} seconds (0 means none)")
    return value


def process(batch: Batch, update: OperationUpdate, current: Operation | None) -> None:
    if current is not None:
        check_identity(update, current)
    if update.action is not OperationAction.START:
        raise reject(
            "a CALLBACK accepts only START (it is completed by SendDurableExecutionCallback* or a timeout)"
        )
    if current is not None:
        raise reject(f"the callback was already started (it is {current.status.value})")
    options = update.callback_options
    timeout = _seconds(None if options is None else options.timeout_seconds, "CallbackOptions.TimeoutSeconds")
    heartbeat = _seconds(
        None if options is None else options.heartbeat_timeout_seconds,
        "CallbackOptions.HeartbeatTimeoutSeconds",
    )
    callback_id = new_callback_id(batch.execution.arn, update.id, heartbeat)
    op = new_operation(batch, update, callback_details=CallbackDetails(callback_id=callback_id))
    batch.put(op, new=True)
    batch.event(
        EventType.CALLBACK_STARTED,
        op,
        EventDetails(callback_id=callback_id, timeout=timeout or None, heartbeat_timeout=heartbeat or None),
    )
    if timeout:
        batch.set_timer(op.id, TimerKind.CALLBACK_TIMEOUT, batch.now + timedelta(seconds=timeout))
    if heartbeat:
        batch.set_timer(op.id, TimerKind.CALLBACK_HEARTBEAT, batch.now + timedelta(seconds=heartbeat))


# ---------------------------------------------------------------- service side


def _finish(
    batch: Batch, op: Operation, status: OperationStatus, event_type: EventType, details: CallbackDetails
) -> None:
    done = replace(op, status=status, end_timestamp=batch.now, callback_details=details)
    batch.put(done, new=False)
    if status is OperationStatus.SUCCEEDED:
        batch.event(event_type, done, EventDetails(result=event_result(details.result)))
    else:
        batch.event(event_type, done, EventDetails(error=event_error(details.error)))
    batch.delete_timer(op.id, TimerKind.CALLBACK_TIMEOUT)
    batch.delete_timer(op.id, TimerKind.CALLBACK_HEARTBEAT)
    # A service-side transition: deliver it in the next checkpoint response of a running
    # invocation, and invoke the execution again afterwards (AWS re-invokes on each one).
    rec = batch.execution
    rec.needs_invocation = True
    if op.id not in rec.updated_operation_ids:
        rec.updated_operation_ids = (*rec.updated_operation_ids, op.id)


def succeed(batch: Batch, op: Operation, result: str | None) -> None:
    """STARTED -> SUCCEEDED with `CallbackSucceeded{Result}` (the payload verbatim)."""
    callback_id = op.callback_details.callback_id if op.callback_details else None
    details = CallbackDetails(callback_id=callback_id, result=result)
    _finish(batch, op, OperationStatus.SUCCEEDED, EventType.CALLBACK_SUCCEEDED, details)


def fail(batch: Batch, op: Operation, error: ErrorObject | None) -> None:
    """STARTED -> FAILED with `CallbackFailed{Error}` (the caller's error verbatim)."""
    callback_id = op.callback_details.callback_id if op.callback_details else None
    details = CallbackDetails(callback_id=callback_id, error=error or ErrorObject())
    _finish(batch, op, OperationStatus.FAILED, EventType.CALLBACK_FAILED, details)


def heartbeat(batch: Batch, op: Operation, heartbeat_seconds: int) -> None:
    """Re-arm the heartbeat timer (no event, no re-invocation; nothing to do without one)."""
    if heartbeat_seconds:
        batch.set_timer(op.id, TimerKind.CALLBACK_HEARTBEAT, batch.now + timedelta(seconds=heartbeat_seconds))


def time_out(batch: Batch, op: Operation, kind: TimerKind) -> None:
    """A callback timer is due: STARTED -> TIMED_OUT with `CallbackTimedOut{Error}`."""
    if op.type is not OperationType.CALLBACK or op.status is not OperationStatus.STARTED:
        return
    if kind is TimerKind.CALLBACK_HEARTBEAT:
        error = ErrorObject(
            error_type=HEARTBEAT_ERROR_TYPE,
            error_message="Callback timed out: no heartbeat arrived within HeartbeatTimeoutSeconds",
        )
    else:
        error = ErrorObject(
            error_type=TIMEOUT_ERROR_TYPE,
            error_message="Callback timed out: it was not completed within TimeoutSeconds",
        )
    callback_id = op.callback_details.callback_id if op.callback_details else None
    details = CallbackDetails(callback_id=callback_id, error=error)
    _finish(batch, op, OperationStatus.TIMED_OUT, EventType.CALLBACK_TIMED_OUT, details)
