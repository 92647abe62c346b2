"""Checkpoint processing: one processor module per operation type over one shared template.

`apply_updates` validates a whole checkpoint request and stages it in a `Batch`; the
caller flushes the batch inside the same transaction. `PROCESSORS` maps each operation
type to its processor (one module each, including callback.py and chained_invoke.py);
`register_processor` replaces or adds one.
Imports only `perdure.wire`, `perdure.engine` internals and the standard library.
"""

from __future__ import annotations

from collections.abc import Sequence

from perdure.wire import limits
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import OperationType, OperationUpdate

from . import callback, chained_invoke, context, execution, step, wait
from ._base import Batch, Processor, UpdateRejected, check_format, check_parent, invalid

PROCESSORS: dict[OperationType, Processor] = {
    OperationType.EXECUTION: execution.process,
    OperationType.STEP: step.process,
    OperationType.WAIT: wait.process,
    OperationType.CONTEXT: context.process,
    OperationType.CALLBACK: callback.process,
    OperationType.CHAINED_INVOKE: chained_invoke.process,
}


def register_processor(operation_type: OperationType, processor: Processor) -> None:
    """Install the processor for an operation type (the extension point for new types)."""
    PROCESSORS[operation_type] = processor


# An enum member read on the hot path is a global: on Python 3.11 a read from its enum class
# goes through `EnumType.__getattr__`, about ten times the cost.
_EXECUTION = OperationType.EXECUTION

_UPDATE_BOUND = 200 + 2 * limits.MAX_ID_LENGTH + limits.MAX_NAME_LENGTH + 4 * limits.MAX_SUB_TYPE_LENGTH
"""`_request_size` of an update without payload or error, at most (ids and names are ASCII)."""


def _request_size(updates: Sequence[OperationUpdate]) -> int:
    """An estimate of the request's size: the variable-length members (payloads in UTF-8)
    plus a fixed allowance per update for the JSON framing."""
    total = 0
    for u in updates:
        total += 200 + len(u.id) + len(u.parent_id or "") + len(u.name or "") + len(u.sub_type or "")
        if u.payload is not None:
            total += limits.utf8_size(u.payload)
        if u.error is not None:
            e = u.error
            total += len(e.error_message or "") + len(e.error_type or "") + len(e.error_data or "")
            total += sum(len(line) for line in e.stack_trace or ())
    return total


def apply_updates(batch: Batch, updates: Sequence[OperationUpdate]) -> None:
    """Validate and stage every update of one checkpoint request, in order.

    Raises:
        InvalidParameterValueError: naming the first update that breaks a rule, and the rule.
    """
    if len(updates) > limits.MAX_CHECKPOINT_UPDATES:
        raise InvalidParameterValueError(
            f"Invalid checkpoint: {len(updates)} updates, over the limit of {limits.MAX_CHECKPOINT_UPDATES}"
            " per request"
        )
    # One pass over the updates: the sized ones, a quick upper bound of their size, and every
    # operation the request names (its ids and parents).
    # EXECUTION updates carry results too large for the invocation response (up to the
    # 6 MiB payload bound), so they cannot count against the 750 KiB request limit.
    root = batch.execution.execution_id
    sized: list[OperationUpdate] = []
    named: list[str] = []
    payload_characters = 0
    has_error = False
    for u in updates:
        if u.type is not _EXECUTION:
            sized.append(u)
            named.append(u.id)
            if u.payload is not None:
                payload_characters += len(u.payload)
            if u.error is not None:
                has_error = True
        parent_id = u.parent_id
        if parent_id is not None and parent_id != root:
            named.append(parent_id)
    # Measured only when a quick upper bound (4 UTF-8 bytes a payload character, every
    # other member at its longest) does not already keep the request under the limit.
    bound = len(sized) * _UPDATE_BOUND + 4 * payload_characters
    if bound > limits.MAX_CHECKPOINT_REQUEST_BYTES or has_error:
        size = _request_size(sized)
        if size > limits.MAX_CHECKPOINT_REQUEST_BYTES:
            raise InvalidParameterValueError(
                f"Invalid checkpoint: the request is about {size} bytes, over the limit of"
                f" {limits.MAX_CHECKPOINT_REQUEST_BYTES} bytes"
            )
    # One store read for every operation the request names; the batch serves the
    # per-update lookups below from it.
    batch.prefetch(named)
    for index, update in enumerate(updates):
        processor = PROCESSORS.get(update.type)
        try:
            if processor is None:
                raise UpdateRejected(f"{update.type.value} operations are not supported by this engine yet")
            if update.type is _EXECUTION:
                processor(batch, update, None)
                continue
            check_format(update)
            current = batch.get(update.id)
            if current is None or update.parent_id is not None:
                check_parent(batch, update)
            processor(batch, update, current)
        except UpdateRejected as exc:
            raise invalid(index, update, exc.rule) from None


__all__ = ["PROCESSORS", "Batch", "apply_updates", "register_processor"]
