"""CONTEXT checkpoint processing (child contexts, parallel/map batches and their branches): START, SUCCEED, FAIL.

Imports only `perdure.wire`, `perdure.engine` internals and the standard library.
"""

from __future__ import annotations

from perdure.wire.types import (
    ContextDetails,
    EventDetails,
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationUpdate,
)

from ._base import (
    Batch,
    check_identity,
    check_payload,
    ended,
    event_error,
    event_result,
    new_operation,
    reject,
    require_status,
)

_OPEN = frozenset({OperationStatus.STARTED})


def process(batch: Batch, update: OperationUpdate, current: Operation | None) -> None:
    if current is not None:
        check_identity(update, current)
    action = update.action
    if action is OperationAction.START:
        if current is not None:
            raise reject(f"the context was already started (it is {current.status.value})")
        op = new_operation(batch, update, context_details=ContextDetails())
        batch.put(op, new=True)
        batch.event(EventType.CONTEXT_STARTED, op)
    elif action is OperationAction.SUCCEED:
        check_payload(update)
        opened = require_status(current, _OPEN, update)
        options = update.context_options
        details = ContextDetails(
            replay_children=None if options is None else options.replay_children, result=update.payload
        )
        op = ended(opened, OperationStatus.SUCCEEDED, batch.now, context_details=details)
        batch.put(op, new=False)
        batch.event(EventType.CONTEXT_SUCCEEDED, op, EventDetails(result=event_result(update.payload)))
    elif action is OperationAction.FAIL:
        check_payload(update)
        opened = require_status(current, _OPEN, update)
        details = ContextDetails(error=update.error)
        op = ended(opened, OperationStatus.FAILED, batch.now, context_details=details)
        batch.put(op, new=False)
        batch.event(EventType.CONTEXT_FAILED, op, EventDetails(error=event_error(update.error)))
    else:
        raise reject("a CONTEXT accepts START, SUCCEED or FAIL")
