"""The shared template of checkpoint processing: the staging batch and the common rules.

A `Batch` stages one checkpoint request over the store: it reads operations through an
overlay (so a later update sees an earlier one of the same request), numbers new history
events, and collects every write. Nothing reaches the store until `Batch.flush`, which
runs only after every update passed validation, so a rejected request changes nothing.
Imports only `perdure.wire`, `perdure.engine.store` and the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from perdure.engine.store import NO_DETAILS, ExecutionRecord, StoreTx, TimerKind
from perdure.wire import limits
from perdure.wire.codec import error_size
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import (
    CallbackDetails,
    ChainedInvokeDetails,
    ContextDetails,
    ErrorObject,
    Event,
    EventDetails,
    EventError,
    EventResult,
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    WaitDetails,
)

_ID_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{limits.MAX_ID_LENGTH}}}")
_SUB_TYPE_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{limits.MAX_SUB_TYPE_LENGTH}}}")
_PRINTABLE_ASCII_RE = re.compile(r"[\x20-\x7e]*")
_SUB_TYPES_SEEN: set[str] = set()
"""SubTypes `_SUB_TYPE_RE` accepted (a few: "Step", "Wait", ...), not matched again."""
# Enum members read on the hot path are globals: on Python 3.11 a read from the enum class
# goes through `EnumType.__getattr__`, about ten times the cost.
_STARTED = OperationStatus.STARTED
_START = OperationAction.START
_CONTEXT = OperationType.CONTEXT


class UpdateRejected(Exception):
    """Internal: one update broke a rule. Turned into `InvalidParameterValueError` with context."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


def reject(rule: str) -> UpdateRejected:
    return UpdateRejected(rule)


def describe(index: int, update: OperationUpdate) -> str:
    return f"update #{index} (Id={update.id!r}, Type={update.type.value}, Action={update.action.value})"


def invalid(index: int, update: OperationUpdate, rule: str) -> InvalidParameterValueError:
    return InvalidParameterValueError(f"Invalid checkpoint: {describe(index, update)}: {rule}")


class StartExecution(Protocol):
    """Starts an execution inside the current transaction (a chained invoke's target).

    Returns (its record, whether this call created it): an execution already started under
    `execution_name` with the same input is returned, not started again.

    Raises:
        UnknownFunctionError: no function answers to `function_name`.
        DurableExecutionAlreadyStartedError: `execution_name` is taken with another input.
    """

    def __call__(
        self, function_name: str, input_payload: str | None, execution_name: str
    ) -> tuple[ExecutionRecord, bool]: ...


@dataclass(slots=True)
class Batch:
    """The staged effect of one checkpoint request (or one service-side transition)."""

    tx: StoreTx
    execution: ExecutionRecord
    now: datetime
    max_operations: int = limits.DEFAULT_MAX_OPERATIONS
    start_execution: StartExecution | None = None
    """How a CHAINED_INVOKE START starts its target (set by the service for checkpoints)."""
    is_request: bool = False
    """A checkpoint request's own changes (its response carries them), not logged as
    service-side changes (see `StoreTx.log_change`)."""
    changed: dict[str, Operation] = field(default_factory=dict)
    new_seq: dict[str, int] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    timers: list[tuple[str, TimerKind, datetime | None]] = field(default_factory=list)
    """(operation id, kind, due) to set, or due None to delete, in order."""
    loaded: dict[str, Operation | None] = field(default_factory=dict)
    """Stored operations already read by this batch (None: no such operation). Nothing of
    this execution's operations is written before `flush`, so they stay current."""

    def not_before_latest_event(self) -> Batch:
        """Raise `now` (every timestamp the batch writes) to the execution's latest event.

        For the transitions another process may make with another clock (a callback answered
        by `perdure callback` after a `--skip-time` run stamped the history ahead, a stop): the
        history never goes back in time. Not on the checkpoint path, where the engine running
        the invocation stamps its own events with its one clock (a read per checkpoint costs
        about a tenth of a step's CPU).
        """
        if self.execution.next_event_id > 1:
            latest = self.tx.list_events(self.execution.key, None, 1, True)
            if latest and latest[0].event_timestamp > self.now:
                self.now = latest[0].event_timestamp
        return self

    def get(self, operation_id: str) -> Operation | None:
        op = self.changed.get(operation_id)
        if op is not None:
            return op
        loaded = self.loaded
        if operation_id in loaded:
            return loaded[operation_id]
        op = self.tx.get_operation(self.execution.key, operation_id)
        loaded[operation_id] = op
        return op

    def prefetch(self, operation_ids: Iterable[str]) -> None:
        """Read the stored operations among `operation_ids` not read yet, in one store call."""
        loaded = self.loaded
        wanted = {i for i in operation_ids if i not in loaded and i not in self.changed}
        if not wanted:
            return
        found = self.tx.get_operations(self.execution.key, wanted)
        for operation_id in wanted:
            loaded[operation_id] = found.get(operation_id)

    def put(self, operation: Operation, *, new: bool) -> None:
        """Stage `operation`; a `new` one counts against the execution's operation limit."""
        if new and operation.id not in self.changed:
            count = self.execution.operation_count + 1
            if count > self.max_operations:
                raise reject(
                    f"the execution already has {self.max_operations} operations, the maximum"
                    " (raise it with `--max-operations` on `perdure run`/`serve`, or `Engine(max_operations=...)`)"
                )
            self.execution.operation_count = count
            self.new_seq[operation.id] = count
        self.changed[operation.id] = operation

    def event(self, event_type: EventType, op: Operation | None, details: EventDetails | None = None) -> None:
        event_id = self.execution.next_event_id
        self.execution.next_event_id = event_id + 1
        # Positional (type, id, timestamp, then the operation's id, name, sub-type, parent):
        # on Python 3.11 a class called with keywords first packs them into a dict.
        if op is None:
            event = Event(event_type, event_id, self.now, None, None, None, None, details or NO_DETAILS)
        else:
            event = Event(
                event_type,
                event_id,
                self.now,
                op.id,
                op.name,
                op.sub_type,
                op.parent_id,
                details or NO_DETAILS,
            )
        self.events.append(event)

    def set_timer(self, operation_id: str, kind: TimerKind, due: datetime) -> None:
        self.timers.append((operation_id, kind, due))

    def delete_timer(self, operation_id: str, kind: TimerKind) -> None:
        self.timers.append((operation_id, kind, None))

    def flush(self, *, final: bool = False) -> None:
        """Write everything staged (inside the caller's transaction); with `final`, the
        caller changes the execution record no more (see `StoreTx.update_execution`)."""
        key = self.execution.key
        rec = self.execution
        new_seq = self.new_seq
        self.tx.put_operations(key, [(new_seq.get(op_id, 0), op) for op_id, op in self.changed.items()])
        if not self.is_request and rec.request_id is not None:
            for op_id in self.changed:
                # A running invocation learns it from its next checkpoint response (an
                # invocation that begins later gets it in its initial state).
                rec.change_seq += 1
                self.tx.log_change(key, op_id, rec.change_seq)
        # The execution before its events: a store may keep an event's result as a reference
        # to the copy its operation or execution wrote earlier in the transaction.
        self.tx.update_execution(self.execution, final=final)
        if self.events:
            self.tx.append_events(key, self.events)
        for op_id, kind, due in self.timers:
            if due is None:
                self.tx.delete_timer(key, op_id, kind)
            else:
                self.tx.set_timer(key, op_id, kind, due)


# ------------------------------------------------------------------------ helpers


def event_result(payload: str | None) -> EventResult:
    return EventResult(payload, False)  # payload, truncated


def event_error(error: ErrorObject | None) -> EventError:
    return EventError(payload=error, truncated=False)


def error_size_rule(error: ErrorObject | None, member: str = "Error") -> str | None:
    """Why `error` may not be stored: over `limits.MAX_ERROR_BYTES` as compact JSON (None: it may)."""
    if error is None:
        return None
    size = error_size(error)
    if size <= limits.MAX_ERROR_BYTES:
        return None
    return f"{member} is {size} bytes as JSON, over the {limits.MAX_ERROR_BYTES}-byte limit"


def check_error_size(error: ErrorObject | None, member: str = "Error") -> None:
    """Raises: InvalidParameterValueError: `error` is over `limits.MAX_ERROR_BYTES` (see `error_size_rule`)."""
    rule = error_size_rule(error, member)
    if rule is not None:
        raise InvalidParameterValueError(rule)


def check_payload(update: OperationUpdate, limit: int = limits.MAX_OPERATION_PAYLOAD_BYTES) -> None:
    size = limits.size_over(update.payload, limit)
    if size is not None:
        raise reject(f"Payload is {size} bytes (UTF-8), over the {limit}-byte limit per operation")


def check_delay(value: int | None, member: str) -> int:
    if value is None:
        raise reject(f"{member} is required")
    if not limits.MIN_DELAY_SECONDS <= value <= limits.MAX_DELAY_SECONDS:
        raise reject(
            f"{member}={value} is outside {limits.MIN_DELAY_SECONDS}..{limits.MAX_DELAY_SECONDS} seconds"
        )
    return value


def check_format(update: OperationUpdate) -> None:
    """Id, Name and SubType formats."""
    if _ID_RE.fullmatch(update.id) is None:
        raise reject(f"Id must be 1-{limits.MAX_ID_LENGTH} characters of [A-Za-z0-9_-]")
    if update.parent_id is not None and _ID_RE.fullmatch(update.parent_id) is None:
        raise reject(f"ParentId must be 1-{limits.MAX_ID_LENGTH} characters of [A-Za-z0-9_-]")
    name = update.name
    if name is not None and (
        not 1 <= len(name) <= limits.MAX_NAME_LENGTH or _PRINTABLE_ASCII_RE.fullmatch(name) is None
    ):
        raise reject(f"Name must be 1-{limits.MAX_NAME_LENGTH} printable ASCII characters")
    sub_type = update.sub_type
    if sub_type is not None and sub_type not in _SUB_TYPES_SEEN:
        if _SUB_TYPE_RE.fullmatch(sub_type) is None:
            raise reject(f"SubType must be 1-{limits.MAX_SUB_TYPE_LENGTH} characters of [A-Za-z0-9_-]")
        if len(_SUB_TYPES_SEEN) < 64:
            _SUB_TYPES_SEEN.add(sub_type)


def check_parent(batch: Batch, update: OperationUpdate) -> None:
    """The parent is the root (none, or the EXECUTION operation) or an open CONTEXT."""
    parent_id = update.parent_id
    if parent_id is None or parent_id == batch.execution.execution_id:
        return
    parent = batch.get(parent_id)
    if parent is None:
        raise reject(f"ParentId {parent_id!r} names no operation of this execution")
    if parent.type is not _CONTEXT:
        raise reject(f"ParentId {parent_id!r} is a {parent.type.value} operation, not a CONTEXT")
    if parent.status is not _STARTED:
        raise reject(f"parent CONTEXT {parent_id!r} is {parent.status.value}, not open (STARTED)")


def check_identity(update: OperationUpdate, current: Operation) -> None:
    """An existing id keeps its type; a re-START also keeps its name and parent."""
    if current.type is not update.type:
        raise reject(f"Id {update.id!r} already belongs to a {current.type.value} operation")
    if update.action is _START:
        if update.name != current.name:
            raise reject(f"re-START changes Name from {current.name!r} to {update.name!r}")
        if update.parent_id != current.parent_id:
            raise reject(f"re-START changes ParentId from {current.parent_id!r} to {update.parent_id!r}")


def require_status(
    current: Operation | None, allowed: frozenset[OperationStatus], update: OperationUpdate
) -> Operation:
    if current is None:
        raise reject(f"no {update.type.value} operation with this Id was started")
    if current.status not in allowed:
        wanted = "/".join(sorted(s.value for s in allowed))
        raise reject(f"the operation is {current.status.value}; {update.action.value} needs {wanted}")
    return current


def ended(
    current: Operation,
    status: OperationStatus,
    now: datetime,
    *,
    step_details: StepDetails | None = None,
    context_details: ContextDetails | None = None,
) -> Operation:
    """`current` ended at `now` with `status` (and new step or context details): one
    constructor call, a hot path of every checkpoint (`dataclasses.replace` costs twice as much)."""
    return Operation(
        current.id,
        current.type,
        status,
        current.start_timestamp,
        current.parent_id,
        current.name,
        current.sub_type,
        now,
        current.execution_details,
        current.context_details if context_details is None else context_details,
        current.step_details if step_details is None else step_details,
        current.wait_details,
        current.callback_details,
        current.chained_invoke_details,
    )


def new_operation(
    batch: Batch,
    update: OperationUpdate,
    *,
    context_details: ContextDetails | None = None,
    step_details: StepDetails | None = None,
    wait_details: WaitDetails | None = None,
    callback_details: CallbackDetails | None = None,
    chained_invoke_details: ChainedInvokeDetails | None = None,
) -> Operation:
    """The operation `update` starts, STARTED at `batch.now` (one positional constructor
    call, as `ended`: a class called with keywords first packs them into a dict)."""
    return Operation(
        update.id,
        update.type,
        _STARTED,
        batch.now,
        update.parent_id,
        update.name,
        update.sub_type,
        None,  # end_timestamp
        None,  # execution_details
        context_details,
        step_details,
        wait_details,
        callback_details,
        chained_invoke_details,
    )


Processor = Callable[[Batch, OperationUpdate, "Operation | None"], None]
"""Applies one validated-format update: checks its transition, stages the change and events.
Raises `UpdateRejected` (via `reject`) to refuse it."""
