"""The execution's atomic transitions outside a checkpoint: start, begin and end an
invocation, fire a timer, stop, and recover an interrupted invocation.

Each function runs inside the caller's `StoreTx` and changes the execution, its
operations and its history together, through the same `Batch` the checkpoint path uses.
Imports only `perdure.wire`, `perdure.engine` internals and the standard library.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from perdure.engine import tokens
from perdure.engine.invoker import InvocationRetryPolicy, crash_error
from perdure.engine.processors import Batch, callback, execution, wait
from perdure.engine.processors._base import event_error
from perdure.engine.registry import RegisteredFunction
from perdure.engine.store import ExecutionRecord, StoreTx, Timer, TimerKind
from perdure.wire import limits
from perdure.wire.codec import error_size, to_wire
from perdure.wire.errors import DurableExecutionAlreadyStartedError, InvalidParameterValueError
from perdure.wire.types import (
    DurableExecutionArn,
    ErrorObject,
    EventDetails,
    EventType,
    ExecutionStatus,
    InitialExecutionState,
    InvocationInput,
    InvocationOutput,
    InvocationStatus,
    Operation,
    OperationStatus,
)

DEFAULT_EXECUTION_TIMEOUT_SECONDS = 7 * 86_400
"""A week: longer than the day-long waits and the approvals awaited for days that local
workflows model (a one-day default would time out a 24-hour wait at the moment it ends), and
short enough that an execution waiting for a callback nobody sends still ends."""
EXECUTION_TIMEOUT_ERROR_TYPE = "Execution.Timeout"
EXECUTION_STOPPED_ERROR_TYPE = "Execution.Stopped"
INVOCATION_ABANDONED_ERROR_TYPE = "Invocation.Abandoned"
_EXECUTION_NAME_RE = re.compile(rf"[a-zA-Z0-9_-]{{1,{limits.MAX_EXECUTION_NAME_LENGTH}}}")
INTERRUPTED_MESSAGE = "invocation was interrupted: the engine process stopped before it returned"


_OPERATION_OVERHEAD_BYTES = 2048
"""More than the JSON of an operation's members besides its payloads (ids, names, times)."""
_JSON_EXPANSION = 6
"""The most one character of a payload grows to in JSON (`\\u00e9`)."""


def _json_chars(text: str) -> int:
    """At least the length of `text` as a JSON string's contents, ASCII-escaped: exact for
    ASCII without control characters (only quotes and backslashes grow), the worst case
    otherwise."""
    size = limits.ascii_json_length(text)
    return size if size is not None else len(text) * _JSON_EXPANSION


def _payloads(op: Operation) -> Iterator[str]:
    """The payload texts (input, result, error) an operation carries."""
    for details in (
        op.execution_details,
        op.context_details,
        op.step_details,
        op.callback_details,
        op.chained_invoke_details,
    ):
        if details is None:
            continue
        for name in ("input_payload", "result"):
            text = getattr(details, name, None)
            if text:
                yield text
        error = getattr(details, "error", None)
        if error is not None:
            for text in (error.error_message, error.error_data, error.error_type, *(error.stack_trace or ())):
                if text:
                    yield text


def operation_json_bytes(op: Operation) -> int:
    """The size of `op` in an invocation event or a state page (its JSON, ASCII-escaped)."""
    return len(json.dumps(to_wire(op, timestamps="epoch_millis"), separators=(",", ":")))


def operations_page(
    tx: StoreTx,
    execution_key: int,
    after: int | None,
    size: int,
    max_bytes: int = limits.STATE_PAGE_BYTES,
) -> tuple[tuple[Operation, ...], str | None]:
    """Up to `size` operations in sequence order after `after`, and the next page's marker.

    A page holds at most `max_bytes` of operations as JSON (at least one operation), so an
    invocation event stays under Lambda's invoke payload limit. An upper bound counts every
    payload character at its worst JSON growth; only when that is over, the largest
    payloads are measured, until it fits; only when it still does not, the operations'
    JSON is.
    """
    page = tx.list_operations(execution_key, -1 if after is None else after, size + 1)
    ops = page[:size]
    texts = [text for _, op in ops for text in _payloads(op)]
    bound = len(ops) * _OPERATION_OVERHEAD_BYTES + _JSON_EXPANSION * sum(map(len, texts))
    if bound > max_bytes:
        # Tighter: the largest payloads' escaped lengths, only until the bound fits.
        for text in sorted(texts, key=len, reverse=True):
            bound -= _JSON_EXPANSION * len(text) - _json_chars(text)
            if bound <= max_bytes:
                break
    if bound > max_bytes:
        total = 0
        for index, (_, op) in enumerate(ops):
            total += operation_json_bytes(op)
            if total > max_bytes and index > 0:
                ops = ops[:index]
                return tuple(op for _, op in ops), str(ops[-1][0])
    marker = str(page[size - 1][0]) if len(page) > size else None
    return tuple(op for _, op in ops), marker


# ------------------------------------------------------------------------ start


def start_execution(
    tx: StoreTx,
    now: datetime,
    function: RegisteredFunction,
    input_payload: str | None,
    execution_name: str | None,
    execution_timeout: int = DEFAULT_EXECUTION_TIMEOUT_SECONDS,
) -> tuple[ExecutionRecord, bool]:
    """Start an execution, or return the one already started under that name.

    Returns:
        (the execution, whether it was created now).

    Raises:
        DurableExecutionAlreadyStartedError: the name is taken by an execution with another input.
        InvalidParameterValueError: a malformed name or an oversized input.
    """
    check_execution_timeout(execution_timeout)
    if execution_name is not None and _EXECUTION_NAME_RE.fullmatch(execution_name) is None:
        raise InvalidParameterValueError(
            f"DurableExecutionName {execution_name!r} must be 1-{limits.MAX_EXECUTION_NAME_LENGTH}"
            " characters of [a-zA-Z0-9_-]"
        )
    if limits.size_over(input_payload, limits.MAX_WIRE_PAYLOAD_BYTES) is not None:
        raise InvalidParameterValueError(
            f"the execution input is over the {limits.MAX_WIRE_PAYLOAD_BYTES}-byte payload limit"
        )
    name = execution_name or str(uuid.uuid4())
    existing = tx.find_execution(function.name, name)
    if existing is not None:
        if existing.input_payload == input_payload:
            return existing, False
        raise DurableExecutionAlreadyStartedError(
            f"a durable execution named {name!r} of function {function.name!r} was already started with a"
            f" different input ({existing.arn})"
        )
    execution_id = str(uuid.uuid4())
    arn = DurableExecutionArn(
        "aws", "us-east-1", "000000000000", function.name, function.version, name, execution_id
    )
    record = ExecutionRecord(
        arn=str(arn),
        execution_id=execution_id,
        function_name=function.name,
        function_arn=function.qualified_arn,
        name=name,
        status=ExecutionStatus.RUNNING,
        input_payload=input_payload,
        start_timestamp=now,
        execution_timeout=execution_timeout,
        needs_invocation=True,
    )
    tx.insert_execution(record)
    batch = Batch(tx, record, now)
    execution.start(batch)
    batch.set_timer(execution_id, TimerKind.EXECUTION_TIMEOUT, now + timedelta(seconds=execution_timeout))
    batch.flush()
    return record, True


def check_execution_timeout(seconds: int) -> int:
    """Raises: InvalidParameterValueError: outside 1..31,622,400 seconds."""
    if isinstance(seconds, bool) or not 1 <= seconds <= limits.MAX_EXECUTION_TIMEOUT_SECONDS:
        raise InvalidParameterValueError(
            f"ExecutionTimeout={seconds} is outside 1..{limits.MAX_EXECUTION_TIMEOUT_SECONDS} seconds"
        )
    return seconds


# ------------------------------------------------------------------ invocations


@dataclass(frozen=True, slots=True)
class BegunInvocation:
    input: InvocationInput
    request_id: str
    function_name: str
    execution: ExecutionRecord


def begin_invocation(
    tx: StoreTx,
    now: datetime,
    arn: str,
    invoker: str,
    state_page_bytes: int = limits.STATE_PAGE_BYTES,
) -> BegunInvocation | None:
    """Open an invocation if the execution needs one and none is running (else None).

    `invoker` names the engine running it (see `perdure.engine.recovery`). The event's
    `InitialExecutionState` holds the EXECUTION operation first and at most
    `state_page_bytes` of operations; its `NextMarker` pages the rest."""
    rec = tx.get_execution(arn)
    if rec is None or not rec.is_running or rec.request_id is not None or not rec.needs_invocation:
        return None
    request_id = str(uuid.uuid4())
    token = tokens.new_token()
    updated = rec.updated_operation_ids
    rec.request_id = request_id
    rec.invoker = invoker
    rec.invocation_started = now
    rec.checkpoint_token = token
    rec.needs_invocation = False
    rec.invoke_after = None
    rec.updated_operation_ids = ()
    if rec.change_seq > 0:
        tx.prune_changes(rec.key, rec.change_seq)
    rec.reported_seq = rec.change_seq  # the initial state below holds every change so far
    rec.invocation_count += 1
    tx.insert_invocation(rec.key, request_id, now)
    tx.claim_lease(rec.key, request_id)
    operations, marker = operations_page(tx, rec.key, None, limits.MAX_STATE_PAGE, state_page_bytes)
    tx.update_execution(rec)
    state = InitialExecutionState(operations=operations, next_marker=marker)
    return BegunInvocation(
        input=InvocationInput(
            durable_execution_arn=arn,
            checkpoint_token=token,
            initial_execution_state=state,
            updated_operation_ids=updated,
        ),
        request_id=request_id,
        function_name=rec.function_name,
        execution=rec,
    )


def _check_output(output: InvocationOutput) -> ErrorObject | None:
    """A problem with a well-formed output that makes it a failure, if any."""
    if output.status is InvocationStatus.SUCCEEDED:
        size = limits.size_over(output.result, limits.MAX_RESPONSE_BYTES)
        if size is not None:
            return ErrorObject(
                error_type="Runtime.ResponseSizeTooLarge",
                error_message=f"the result is {size} bytes, over the {limits.MAX_RESPONSE_BYTES}-byte"
                " response limit (checkpoint it with an EXECUTION update)",
            )
    if output.status is InvocationStatus.FAILED and output.error is not None:
        size = error_size(output.error)
        if size > limits.MAX_RESPONSE_BYTES:
            return ErrorObject(
                error_type="Runtime.ResponseSizeTooLarge",
                error_message=f"the error is {size} bytes as JSON, over the {limits.MAX_RESPONSE_BYTES}-byte"
                f" response limit (it was of type {(output.error.error_type or '')[:256]!r})",
            )
    return None


def end_invocation(
    tx: StoreTx,
    now: datetime,
    arn: str,
    request_id: str,
    output: InvocationOutput | None,
    error: ErrorObject | None,
    policy: InvocationRetryPolicy,
    *,
    reached: bool = True,
) -> ExecutionRecord | None:
    """Record the invocation's end (`InvocationCompleted`) and apply its outcome (`reached`:
    False when the function could not be reached at all, see `FunctionUnreachable`)."""
    rec = tx.get_execution(arn)
    if rec is None or rec.request_id != request_id:
        return None  # recovered meanwhile: someone else already closed this invocation
    if tx.holds_lease(rec.key, request_id) is False:
        # Its lease expired (this worker paused or lost the database): its outcome is not
        # recorded; the invocation is closed as interrupted and invoked again (`recover_interrupted`).
        return None
    batch = Batch(tx, rec, now)
    _close_invocation(batch, error)
    rec.checkpoint_token = None
    if rec.is_running:
        _apply_outcome(batch, output, error, policy, reached)
    batch.flush()
    return rec


def _close_invocation(batch: Batch, error: ErrorObject | None) -> None:
    """End the execution's open invocation: its row, its `InvocationCompleted` event, and
    no invocation left on the record (the caller decides what becomes of the token)."""
    rec = batch.execution
    assert rec.request_id is not None
    batch.tx.complete_invocation(rec.request_id, batch.now, error)
    batch.event(
        EventType.INVOCATION_COMPLETED,
        None,
        EventDetails(
            start_timestamp=rec.invocation_started,
            end_timestamp=batch.now,
            request_id=rec.request_id,
            error=None if error is None else event_error(error),
        ),
    )
    rec.request_id = None
    rec.invoker = None
    rec.invocation_started = None


def _apply_outcome(
    batch: Batch,
    output: InvocationOutput | None,
    error: ErrorObject | None,
    policy: InvocationRetryPolicy,
    reached: bool = True,
) -> None:
    rec = batch.execution
    if rec.closing_status is not None:
        execution.finish(batch, rec.closing_status, rec.result, rec.error)
        return
    if error is None and output is not None:
        problem = _check_output(output)
        if problem is not None:
            execution.finish(batch, ExecutionStatus.FAILED, None, problem)
        elif output.status is InvocationStatus.SUCCEEDED:
            execution.finish(batch, ExecutionStatus.SUCCEEDED, output.result, None)
        elif output.status is InvocationStatus.FAILED:
            failure = output.error or ErrorObject(
                error_message="the handler returned FAILED without an Error"
            )
            execution.finish(batch, ExecutionStatus.FAILED, None, failure)
        else:
            rec.failed_invocations = 0  # PENDING: wait for a timer or an external event
        return
    failure = error or ErrorObject(error_message="invocation failed")
    # The streak's failures that reached the function (crashes) and those that could not
    # (nothing ran) are counted apart, packed in one column (`UNREACHABLE_UNIT`): a
    # function that crashes and takes a while to restart spends the unreachable budget
    # on its restart, and a crash-and-restart loop still ends after `max_attempts` crashes.
    crashes, unreachable = _streak(rec.failed_invocations)
    if reached:
        crashes += 1
        gives_up = policy.gives_up(crashes)
    else:
        unreachable += 1
        gives_up = policy.gives_up(unreachable, reached=False)
    rec.failed_invocations = crashes + unreachable * UNREACHABLE_UNIT
    if gives_up:
        execution.finish(batch, ExecutionStatus.FAILED, None, failure)
    else:
        rec.needs_invocation = True
        rec.invoke_after = batch.now + policy.delay(crashes + unreachable)


UNREACHABLE_UNIT = 1 << 16
"""`failed_invocations` = crashes + unreachable attempts times this, in the streak of failed
invocations (`InvocationRetryPolicy.max_attempts` is below it)."""


def _streak(failed_invocations: int) -> tuple[int, int]:
    """(crashes, unreachable attempts) of a stored `failed_invocations`."""
    return failed_invocations % UNREACHABLE_UNIT, failed_invocations // UNREACHABLE_UNIT


# ----------------------------------------------------------------------- timers


def fire_timer(tx: StoreTx, now: datetime, timer: Timer) -> bool:
    """Apply a due timer: the operation changes, the execution gets a (re-)invocation.

    During a running invocation the change is also delivered in the next checkpoint
    response (an SDK refreshes with empty checkpoints to learn it), and if the invocation
    returns PENDING it is invoked again afterwards, as AWS re-invokes after every
    service-side transition (see docs/engine.md, "What a checkpoint response carries").
    """
    # The execution first, then the timer: every transaction that changes an execution locks
    # it before its timers (a checkpoint fires its due timers). One that another worker holds
    # is left for a later pass (a checkpoint holds its own execution: never skipped).
    rec = tx.get_execution(timer.arn, skip_locked=True)
    if rec is None:
        return False
    if not tx.take_timer(timer):
        return False  # another scheduler fired it first, or it was re-armed meanwhile
    if not rec.is_running:
        return True
    if timer.kind is TimerKind.EXECUTION_TIMEOUT:
        error = ErrorObject(
            error_type=EXECUTION_TIMEOUT_ERROR_TYPE,
            error_message=f"the execution exceeded its ExecutionTimeout of {rec.execution_timeout} seconds"
            " (set it per start, with `--execution-timeout` on `perdure run`/`serve`,"
            " or `Engine(execution_timeout=...)`)",
        )
        terminate(tx, now, rec, ExecutionStatus.TIMED_OUT, error)
        return True
    op = tx.get_operation(rec.key, timer.operation_id)
    if op is None:
        return True
    batch = Batch(tx, rec, now)
    if timer.kind is TimerKind.WAIT:
        wait.complete(batch, op)
    elif timer.kind is TimerKind.RETRY and op.status is OperationStatus.PENDING:
        batch.put(replace(op, status=OperationStatus.READY), new=False)
    elif timer.kind in (TimerKind.CALLBACK_TIMEOUT, TimerKind.CALLBACK_HEARTBEAT):
        callback.time_out(batch, op, timer.kind)
    if op.id in batch.changed:
        rec.needs_invocation = True
        if op.id not in rec.updated_operation_ids:
            rec.updated_operation_ids = (*rec.updated_operation_ids, op.id)
    batch.flush()
    return True


def fire_due_timers_of(tx: StoreTx, now: datetime, rec: ExecutionRecord) -> bool:
    """Fire `rec`'s timers due at `now` (a checkpoint does, before it answers): whether any
    fired. The caller reads the execution again when one did."""
    fired = False
    for timer in tx.due_timers_of(rec.key, rec.arn, now):
        fired = fire_timer(tx, now, timer) or fired
    return fired


# ---------------------------------------------------------------- stop, recover


def stop_execution(tx: StoreTx, now: datetime, rec: ExecutionRecord, error: ErrorObject | None) -> None:
    """`StopDurableExecution`: end a RUNNING execution STOPPED (see `terminate`)."""
    terminate(tx, now, rec, ExecutionStatus.STOPPED, error or ErrorObject(error_message="execution stopped"))


def terminate(
    tx: StoreTx, now: datetime, rec: ExecutionRecord, status: ExecutionStatus, error: ErrorObject
) -> None:
    """End a RUNNING execution from the service side (stopped, or past its ExecutionTimeout).

    In one transaction, in this order:
    1. an invocation still running is closed: its `InvocationCompleted` (with an
       `Invocation.Abandoned` error) comes before the terminal event, and its token is
       revoked: its next checkpoint is answered without a token and changes nothing, so the
       SDK returns PENDING (its output is then ignored);
    2. the execution ends: `ExecutionStopped`/`ExecutionTimedOut` with `error`, its timers are
       deleted; its open operations stay as they are, with no event (as on AWS);
    3. the executions its chained invokes started that still run are stopped too (recursively):
       nobody is left to receive their results. The ended caller records nothing for them.
    """
    batch = Batch(tx, rec, now).not_before_latest_event()
    why = "stopped" if status is ExecutionStatus.STOPPED else "timed out"
    if rec.request_id is not None:
        abandoned = ErrorObject(
            error_type=INVOCATION_ABANDONED_ERROR_TYPE,
            error_message=f"the execution {why} while this invocation ran; its checkpoint token was revoked",
        )
        _close_invocation(batch, abandoned)
        rec.revoked_token = rec.checkpoint_token
    execution.finish(batch, status, None, error)
    batch.flush()
    for listed in tx.child_executions(rec.arn):
        # Locked (after its caller, as every transaction locks them) and read again: it may
        # have ended since the list was read.
        child = tx.get_execution(listed.arn) if listed.is_running else None
        if child is not None and child.is_running:
            terminate(
                tx,
                now,
                child,
                ExecutionStatus.STOPPED,
                ErrorObject(
                    error_type=EXECUTION_STOPPED_ERROR_TYPE,
                    error_message=f"stopped because the execution that invoked it ({rec.arn}) {why}",
                ),
            )


def recover_interrupted(tx: StoreTx, now: datetime, is_alive: Callable[[str | None], bool]) -> list[str]:
    """Close every invocation nothing runs any more; schedule re-invocation.

    On a store with leases (several workers), that is exactly an invocation whose lease
    expired (on the database's clock), whoever ran it; otherwise one whose invoker is not
    alive (`is_alive`, see `perdure.engine.recovery`). Returns the ARNs recovered. The
    interruption is not counted as a failed invocation: the function did not fail, the
    engine stopped.
    """

    def running(rec: ExecutionRecord) -> bool:
        assert rec.request_id is not None
        held = tx.holds_lease(rec.key, rec.request_id)
        return is_alive(rec.invoker) if held is None else held

    recovered = []
    for listed in tx.executions_with_open_invocation():
        if running(listed):
            continue
        # Read (and lock) it again: its invocation may have ended meanwhile, and ending an
        # invoked execution below updates its caller (chained invoke).
        rec = tx.get_execution(listed.arn, skip_locked=True)  # held elsewhere: a later pass
        if rec is None or rec.request_id != listed.request_id or running(rec):
            continue
        close_interrupted(tx, now, rec)
        recovered.append(rec.arn)
    return recovered


def close_interrupted(tx: StoreTx, now: datetime, rec: ExecutionRecord) -> None:
    """Close `rec`'s open invocation, which nothing runs any more, and schedule the next one."""
    batch = Batch(tx, rec, now)
    _close_invocation(batch, crash_error(INTERRUPTED_MESSAGE))
    rec.checkpoint_token = None
    if rec.is_running:
        if rec.closing_status is not None:
            execution.finish(batch, rec.closing_status, rec.result, rec.error)
        else:
            rec.needs_invocation = True
            rec.invoke_after = None
    batch.flush()
