"""WAIT checkpoint processing: START and CANCEL (the scheduler performs SUCCEED when due).

Imports only `perdure.wire`, `perdure.engine` internals and the standard library.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from perdure.engine.store import TimerKind, start_of
from perdure.wire.types import (
    EventDetails,
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationUpdate,
    WaitDetails,
)

from ._base import Batch, check_delay, check_identity, event_error, new_operation, reject, require_status

_OPEN = frozenset({OperationStatus.STARTED})


def process(batch: Batch, update: OperationUpdate, current: Operation | None) -> None:
    if current is not None:
        check_identity(update, current)
    if update.action is OperationAction.START:
        if current is not None:
            raise reject(f"the wait was already started (it is {current.status.value})")
        options = update.wait_options
        seconds = check_delay(None if options is None else options.wait_seconds, "WaitOptions.WaitSeconds")
        end = batch.now + timedelta(seconds=seconds)
        op = new_operation(batch, update, wait_details=WaitDetails(scheduled_end_timestamp=end))
        batch.put(op, new=True)
        batch.event(EventType.WAIT_STARTED, op, EventDetails(duration=seconds, scheduled_end_timestamp=end))
        batch.set_timer(op.id, TimerKind.WAIT, end)
    elif update.action is OperationAction.CANCEL:
        op = replace(
            require_status(current, _OPEN, update), status=OperationStatus.CANCELLED, end_timestamp=batch.now
        )
        batch.put(op, new=False)
        batch.event(EventType.WAIT_CANCELLED, op, EventDetails(error=event_error(update.error)))
        batch.delete_timer(op.id, TimerKind.WAIT)
    else:
        raise reject("a WAIT accepts START or CANCEL (the service completes it when due)")


def duration_of(op: Operation) -> int:
    """The configured wait in whole seconds (scheduled end minus start)."""
    end = op.wait_details.scheduled_end_timestamp if op.wait_details else None
    return 0 if end is None else round((end - start_of(op)).total_seconds())


def complete(batch: Batch, op: Operation) -> None:
    """Service side: the wait is due. STARTED -> SUCCEEDED with WaitSucceeded."""
    if op.status is not OperationStatus.STARTED:
        return
    done = replace(op, status=OperationStatus.SUCCEEDED, end_timestamp=batch.now)
    batch.put(done, new=False)
    batch.event(EventType.WAIT_SUCCEEDED, done, EventDetails(duration=duration_of(op)))
