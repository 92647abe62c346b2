"""STEP checkpoint processing: START, RETRY, SUCCEED, FAIL.

While a step runs, `StepDetails.Attempt` counts the attempts that already ended in RETRY
(0 on the first run); the SDK runs attempt `Attempt + 1`, and history reports that 1-based
number as `RetryDetails.CurrentAttempt`. SUCCEED and FAIL count the last attempt too (1
after a first-try success, 3 after two retries), as the official testing library does. RETRY parks the step PENDING until `NextAttemptTimestamp`;
the scheduler then makes it READY (no event) and re-invokes. A RETRY that carries a payload
and no error is a wait_for_condition "continue" poll and is recorded as StepSucceeded.
Imports only `perdure.wire`, `perdure.engine` internals and the standard library.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from perdure.engine.store import TimerKind
from perdure.wire.types import (
    EventDetails,
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationUpdate,
    RetryDetails,
    StepDetails,
)

from ._base import (
    Batch,
    check_delay,
    check_identity,
    check_payload,
    ended,
    event_error,
    event_result,
    new_operation,
    reject,
    require_status,
)

# Enum members read on the hot path are globals: on Python 3.11 a read from the enum class
# goes through `EnumType.__getattr__`, about ten times the cost.
_START, _SUCCEED = OperationAction.START, OperationAction.SUCCEED
_SUCCEEDED = OperationStatus.SUCCEEDED
_STEP_STARTED, _STEP_SUCCEEDED = EventType.STEP_STARTED, EventType.STEP_SUCCEEDED
_FIRST_RUN = StepDetails(0)
"""A started step's details before any retry (shared: the value is frozen)."""
_CURRENT_ATTEMPT = tuple(RetryDetails(attempt) for attempt in range(1, 9))
"""`RetryDetails(current_attempt=n)` of the first attempts, built once (frozen values)."""
_RESTARTABLE = frozenset({OperationStatus.READY, OperationStatus.STARTED})
_RUNNING = frozenset({OperationStatus.STARTED})


def process(batch: Batch, update: OperationUpdate, current: Operation | None) -> None:
    if current is not None:
        check_identity(update, current)
    action = update.action
    if action is _START:
        _start(batch, update, current)
    elif action is _SUCCEED:
        _finish(batch, update, require_status(current, _RUNNING, update), succeeded=True)
    elif action is OperationAction.RETRY:
        _retry(batch, update, require_status(current, _RUNNING, update))
    elif action is OperationAction.FAIL:
        _finish(batch, update, require_status(current, _RUNNING, update), succeeded=False)
    else:
        raise reject("a STEP accepts START, RETRY, SUCCEED or FAIL")


def _start(batch: Batch, update: OperationUpdate, current: Operation | None) -> None:
    if current is None:
        op = new_operation(batch, update, step_details=_FIRST_RUN)
        batch.put(op, new=True)
    else:
        if current.status not in _RESTARTABLE:
            raise reject(f"the step is {current.status.value}; START needs no operation, READY or STARTED")
        details = current.step_details or StepDetails(attempt=0)
        op = replace(
            current,
            status=OperationStatus.STARTED,
            step_details=replace(details, next_attempt_timestamp=None),
        )
        batch.put(op, new=False)
    batch.event(_STEP_STARTED, op)


def _attempt(op: Operation) -> int:
    return (op.step_details.attempt if op.step_details and op.step_details.attempt else 0) or 0


def _retry(batch: Batch, update: OperationUpdate, current: Operation) -> None:
    options = update.step_options
    delay = check_delay(
        None if options is None else options.next_attempt_delay_seconds, "StepOptions.NextAttemptDelaySeconds"
    )
    check_payload(update)
    attempt = _attempt(current)
    due = batch.now + timedelta(seconds=delay)
    old = current.step_details or StepDetails()
    op = replace(
        current,
        status=OperationStatus.PENDING,
        step_details=StepDetails(
            attempt=attempt + 1,
            next_attempt_timestamp=due,
            result=update.payload if update.payload is not None else old.result,
            error=update.error,
        ),
    )
    batch.put(op, new=False)
    retry = RetryDetails(current_attempt=attempt + 1, next_attempt_delay_seconds=delay)
    if update.error is not None or update.payload is None:
        details = EventDetails(error=event_error(update.error), retry_details=retry)
        batch.event(EventType.STEP_FAILED, op, details)
    else:
        details = EventDetails(result=event_result(update.payload), retry_details=retry)
        batch.event(EventType.STEP_SUCCEEDED, op, details)
    batch.set_timer(op.id, TimerKind.RETRY, due)


def _finish(batch: Batch, update: OperationUpdate, current: Operation, *, succeeded: bool) -> None:
    check_payload(update)
    attempt = _attempt(current)
    retry = _CURRENT_ATTEMPT[attempt] if attempt < len(_CURRENT_ATTEMPT) else RetryDetails(attempt + 1)
    old = current.step_details or StepDetails(attempt=attempt)
    # A running step's Attempt counts the attempts before it (the SDK runs attempt Attempt+1);
    # an ended step's counts its attempts, this one included: 1 after a first-try success,
    # 3 after two retries, as the official testing library reports it.
    if succeeded:
        details = StepDetails(attempt + 1, None, update.payload, None)
        status, event_type = _SUCCEEDED, _STEP_SUCCEEDED
        event = EventDetails(None, event_result(update.payload), None, retry)  # input, result, error, retry
    else:
        details = StepDetails(attempt + 1, None, old.result, update.error)
        status, event_type = OperationStatus.FAILED, EventType.STEP_FAILED
        event = EventDetails(error=event_error(update.error), retry_details=retry)
    op = ended(current, status, batch.now, step_details=details)
    batch.put(op, new=False)
    batch.event(event_type, op, event)
