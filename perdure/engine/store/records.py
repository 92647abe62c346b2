"""The engine's stored records (not wire types) and time/JSON conversions shared by stores.

An `ExecutionRecord` is the mutable row a transaction reads, changes and writes back;
operations and events are stored as the wire's own `Operation` and `Event` values.
Imports only `perdure.wire` and the standard library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from operator import attrgetter

from perdure.wire.codec import from_wire, to_wire
from perdure.wire.types import (
    ErrorObject,
    EventDetails,
    EventInput,
    EventResult,
    ExecutionStatus,
    Operation,
    OperationStatus,
    OperationType,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COMPACT_ENCODER = json.JSONEncoder(separators=(",", ":"))
"""`json.dumps(..., separators=(",", ":"))`, built once."""


_US_OF: dict[datetime, int] = {}
"""`to_us` of the datetimes it converted lately (at most `_US_KEPT`). A checkpoint converts
the same few many times (its time, for each event and operation it writes; its execution's
start and invocation's start): a lookup costs a sixth of a conversion."""
_US_KEPT = 256


def to_us(value: datetime) -> int:
    """A UTC datetime as integer microseconds since the epoch (exact, sortable)."""
    us = _US_OF.get(value)
    if us is None:
        # The delta's parts: `(value - _EPOCH) // timedelta(microseconds=1)` costs twice as much.
        delta = value - _EPOCH
        us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        if len(_US_OF) >= _US_KEPT:
            _US_OF.clear()
        _US_OF[value] = us
    return us


def start_of(op: Operation) -> datetime:
    """The start of an operation the engine built (it always sets one; only a reader of
    another service's state may meet an operation without)."""
    assert op.start_timestamp is not None, op.id
    return op.start_timestamp


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def opt_to_us(value: datetime | None) -> int | None:
    return None if value is None else to_us(value)


def opt_from_us(value: int | None) -> datetime | None:
    return None if value is None else from_us(value)


def error_to_json(error: ErrorObject | None) -> str | None:
    return None if error is None else _COMPACT_ENCODER.encode(to_wire(error))


def error_from_json(text: str | None) -> ErrorObject | None:
    return None if text is None else from_wire(ErrorObject, json.loads(text))


def _payload_member(value: EventInput | EventResult) -> dict[str, object]:
    out: dict[str, object] = {} if value.payload is None else {"Payload": value.payload}
    out["Truncated"] = value.truncated
    return out


def _has_other_members(d: EventDetails) -> bool:
    """Whether `d` has a member besides Input, Result, Error and RetryDetails."""
    return (
        d.execution_timeout is not None
        or d.duration is not None
        or d.scheduled_end_timestamp is not None
        or d.function_name is not None
        or d.tenant_id is not None
        or d.executed_version is not None
        or d.durable_execution_arn is not None
        or d.callback_id is not None
        or d.heartbeat_timeout is not None
        or d.timeout is not None
        or d.start_timestamp is not None
        or d.end_timestamp is not None
        or d.request_id is not None
    )


NO_DETAILS = EventDetails()
"""The details of the events that have none, shared (the value is frozen):
`details_to_json` writes it without reading it."""


def details_to_json(details: EventDetails) -> str:
    """`to_wire(details)` as compact JSON, hand-written for the members checkpoints write
    (it runs for every event); anything else falls back to the codec."""
    if details is NO_DETAILS:
        return "{}"
    d = details
    if d.input is None and d.error is None and not _has_other_members(d):
        # Most events: no details, or a result and retry details (a step's or a context's
        # SUCCEEDED), written as the encoder below would write them.
        parts = []
        result = d.result
        if result is not None:
            payload = "" if result.payload is None else f'"Payload":{_encode_text(result.payload)},'
            parts.append(f'"Result":{{{payload}"Truncated":{"true" if result.truncated else "false"}}}')
        attempts = d.retry_details
        if attempts is not None:
            members = []
            if attempts.current_attempt is not None:
                members.append(f'"CurrentAttempt":{attempts.current_attempt:d}')
            if attempts.next_attempt_delay_seconds is not None:
                members.append(f'"NextAttemptDelaySeconds":{attempts.next_attempt_delay_seconds:d}')
            parts.append(f'"RetryDetails":{{{",".join(members)}}}')
        return f"{{{','.join(parts)}}}"
    out: dict[str, object] = {}
    if d.input is not None:
        out["Input"] = _payload_member(d.input)
    if d.result is not None:
        out["Result"] = _payload_member(d.result)
    if d.error is not None:
        error: dict[str, object] = {} if d.error.payload is None else {"Payload": to_wire(d.error.payload)}
        error["Truncated"] = d.error.truncated
        out["Error"] = error
    if d.retry_details is not None:
        r = d.retry_details
        retry: dict[str, object] = {}
        if r.current_attempt is not None:
            retry["CurrentAttempt"] = r.current_attempt
        if r.next_attempt_delay_seconds is not None:
            retry["NextAttemptDelaySeconds"] = r.next_attempt_delay_seconds
        out["RetryDetails"] = retry
    if _has_other_members(d):
        # Timestamps as ISO strings: exact to the microsecond (epoch-seconds floats are not);
        # the codec reads both forms back.
        full = to_wire(d, timestamps="datetime")
        full.update(out)
        out = full
    if not out:
        return "{}"
    return _DETAILS_ENCODER.encode(out)


def _isoformat(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in event details")


_DETAILS_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_isoformat)
"""What `json.dumps(..., separators=(",", ":"), ensure_ascii=False, default=_isoformat)` builds
on every call, built once."""
_encode_text = json.encoder.encode_basestring
"""How `_DETAILS_ENCODER` writes a str (not ASCII-escaped)."""


def details_from_json(text: str) -> EventDetails:
    return from_wire(EventDetails, json.loads(text))


class TimerKind(StrEnum):
    """What a timer does when it fires (see `perdure.engine.scheduler`)."""

    WAIT = "wait"  # WAIT STARTED -> SUCCEEDED
    RETRY = "retry"  # STEP PENDING -> READY
    CALLBACK_TIMEOUT = "callback_timeout"  # CALLBACK STARTED -> TIMED_OUT (Callback.Timeout)
    CALLBACK_HEARTBEAT = "callback_heartbeat"  # CALLBACK STARTED -> TIMED_OUT (Callback.Heartbeat)
    EXECUTION_TIMEOUT = "execution_timeout"  # RUNNING execution -> TIMED_OUT (its ExecutionTimeout)

    @property
    def is_deadline(self) -> bool:
        """A deadline ends something that waits too long; it is not work the engine does.

        The virtual clock jumps to a deadline only while other work is scheduled (see
        `perdure.engine.scheduler`): alone, it marks how long an execution waits for the outside.
        """
        return self is TimerKind.EXECUTION_TIMEOUT


@dataclass(frozen=True, slots=True)
class Timer:
    execution_key: int
    arn: str
    operation_id: str
    kind: TimerKind
    due: datetime


@dataclass(slots=True)
class ExecutionRecord:
    """One durable execution, as stored. Mutated inside a transaction, then written back."""

    arn: str
    execution_id: str
    """The ARN's last segment; also the Id of the EXECUTION operation."""
    function_name: str
    function_arn: str
    name: str
    status: ExecutionStatus
    input_payload: str | None
    start_timestamp: datetime
    execution_timeout: int
    key: int = 0
    """Store-assigned surrogate key (0 until inserted)."""
    end_timestamp: datetime | None = None
    result: str | None = None
    error: ErrorObject | None = None
    closing_status: ExecutionStatus | None = None
    """Set by an EXECUTION SUCCEED/FAIL update; applied when the invocation ends."""
    checkpoint_token: str | None = None
    """The one token a checkpoint may present now (None: no invocation is running)."""
    request_id: str | None = None
    """The running invocation's request id (None: none is running)."""
    invocation_started: datetime | None = None
    next_event_id: int = 1
    operation_count: int = 0
    """Operations other than the EXECUTION one; also the last operation sequence number."""
    needs_invocation: bool = False
    invoke_after: datetime | None = None
    failed_invocations: int = 0
    """Consecutive invocations that ended in an error (reset by a clean one): those that
    reached the function, plus 65,536 times those that could not (`lifecycle._streak`)."""
    invocation_count: int = 0
    updated_operation_ids: tuple[str, ...] = field(default_factory=tuple)
    """Operations the service changed since the last invocation began (UpdatedOperationIds)."""
    invoker: str | None = None
    """Who runs the open invocation (`host:pid:engine`), so recovery spares live ones."""
    parent_arn: str | None = None
    """The execution whose chained invoke started this one (None: started directly)."""
    parent_operation_id: str | None = None
    """That execution's CHAINED_INVOKE operation, completed when this execution ends."""
    change_seq: int = 0
    """The last change number given to an operation write of this execution (see `Batch.flush`)."""
    reported_seq: int = 0
    """The last change number the running invocation was told about: its initial state covers
    everything before it; each checkpoint response reports every change after it, then moves it."""
    revoked_token: str | None = None
    """The token of an invocation the service ended (stop, timeout): a checkpoint presenting it
    is answered without a CheckpointToken, the wire's "revoked" signal, and changes nothing."""

    @property
    def is_running(self) -> bool:
        return self.status is ExecutionStatus.RUNNING

    def copy(self) -> ExecutionRecord:
        """A copy to mutate apart (`dataclasses.replace` costs five times as much)."""
        return ExecutionRecord(*_EXECUTION_FIELDS(self))


_EXECUTION_FIELDS = attrgetter(*(f.name for f in fields(ExecutionRecord)))
"""An `ExecutionRecord`'s fields in `__init__` order, as a tuple."""


@dataclass(frozen=True, slots=True)
class ExecutionQuery:
    """Filters and paging for `StoreTx.list_executions`.

    `function_name` None lists every function's executions; `name` matches a name exactly,
    `name_contains` any name holding that text (case-sensitive). Pages are keyset pages on
    the execution's key (its insertion order): `reverse` lists newest first.
    """

    function_name: str | None
    name: str | None = None
    name_contains: str | None = None
    statuses: tuple[ExecutionStatus, ...] | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    reverse: bool = False
    after_key: int | None = None
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class OperationSummary:
    """An operation without its payloads (input, result), as a timeline row shows it.
    Times are epoch microseconds, as stored; `error` is the operation's, if it failed."""

    id: str
    type: OperationType
    status: OperationStatus
    parent_id: str | None
    name: str | None
    sub_type: str | None
    start_us: int
    end_us: int | None
    attempt: int | None = None
    next_attempt_us: int | None = None
    scheduled_end_us: int | None = None
    callback_id: str | None = None
    replay_children: bool | None = None
    error: ErrorObject | None = None

    @classmethod
    def of(cls, op: Operation) -> OperationSummary:
        """The summary of a whole operation."""
        step, wait, context, callback = (
            op.step_details,
            op.wait_details,
            op.context_details,
            op.callback_details,
        )
        details = step or context or callback or op.chained_invoke_details
        return cls(
            id=op.id,
            type=op.type,
            status=op.status,
            parent_id=op.parent_id,
            name=op.name,
            sub_type=op.sub_type,
            start_us=to_us(start_of(op)),
            end_us=opt_to_us(op.end_timestamp),
            attempt=step.attempt if step is not None else None,
            next_attempt_us=opt_to_us(step.next_attempt_timestamp) if step is not None else None,
            scheduled_end_us=opt_to_us(wait.scheduled_end_timestamp) if wait is not None else None,
            callback_id=callback.callback_id if callback is not None else None,
            replay_children=context.replay_children if context is not None else None,
            error=getattr(details, "error", None),
        )


DEFAULT_LEASE_TTL_SECONDS = 10.0
"""How long a lease (and a worker's heartbeat) holds without renewal on a store many workers
share. Renewed every third of it, so a worker may miss two renewals (a pause, a slow database)
before it loses anything; a worker that dies has its invocations recovered by the others
within about 1.33 x this (see docs/engine.md, "Many workers")."""


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A live worker of a store many workers share, as its `workers` table holds it."""

    worker_id: str
    functions: tuple[str, ...]
    skip_time: bool
    expires_at: datetime
