"""Value types of the durable-execution wire contract.

Field names are the service's member names in snake_case (`DurableExecutionArn` ->
`durable_execution_arn`); `perdure.wire.codec` is the only place that translates between
the two. Values are frozen dataclasses and enums are `StrEnum`s whose values are the exact
wire strings. Timestamps are timezone-aware UTC `datetime`s.

Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, Final

from .fast_init import value_type


class Presence(Enum):
    """How a member may be missing when it is read (`perdure.wire.codec`)."""

    OPTIONAL = "optional"
    REQUIRED = "required"
    NULLABLE = "nullable"
    NOT_NULL = "not null"


NOT_NULL: Final = {"presence": Presence.NOT_NULL}
"""`field(metadata=NOT_NULL)`: the member may be absent, but a null is refused (as the
official SDK refuses it)."""


class OperationType(StrEnum):
    EXECUTION = "EXECUTION"
    CONTEXT = "CONTEXT"
    STEP = "STEP"
    WAIT = "WAIT"
    CALLBACK = "CALLBACK"
    CHAINED_INVOKE = "CHAINED_INVOKE"


class OperationStatus(StrEnum):
    STARTED = "STARTED"
    PENDING = "PENDING"
    READY = "READY"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL_STATUSES


_TERMINAL_STATUSES = frozenset(
    {
        OperationStatus.SUCCEEDED,
        OperationStatus.FAILED,
        OperationStatus.CANCELLED,
        OperationStatus.TIMED_OUT,
        OperationStatus.STOPPED,
    }
)


class OperationAction(StrEnum):
    START = "START"
    SUCCEED = "SUCCEED"
    FAIL = "FAIL"
    RETRY = "RETRY"
    CANCEL = "CANCEL"


class OperationSubType(StrEnum):
    """The sub-types the SDK writes; the wire field itself is a free string (1-32 chars)."""

    STEP = "Step"
    WAIT = "Wait"
    CALLBACK = "Callback"
    RUN_IN_CHILD_CONTEXT = "RunInChildContext"
    MAP = "Map"
    MAP_ITERATION = "MapIteration"
    PARALLEL = "Parallel"
    PARALLEL_BRANCH = "ParallelBranch"
    WAIT_FOR_CALLBACK = "WaitForCallback"
    WAIT_FOR_CONDITION = "WaitForCondition"
    CHAINED_INVOKE = "ChainedInvoke"


class ExecutionStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"


class InvocationStatus(StrEnum):
    """`Status` of the handler's response to one invocation."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    PENDING = "PENDING"


class EventType(StrEnum):
    EXECUTION_STARTED = "ExecutionStarted"
    EXECUTION_SUCCEEDED = "ExecutionSucceeded"
    EXECUTION_FAILED = "ExecutionFailed"
    EXECUTION_TIMED_OUT = "ExecutionTimedOut"
    EXECUTION_STOPPED = "ExecutionStopped"
    CONTEXT_STARTED = "ContextStarted"
    CONTEXT_SUCCEEDED = "ContextSucceeded"
    CONTEXT_FAILED = "ContextFailed"
    WAIT_STARTED = "WaitStarted"
    WAIT_SUCCEEDED = "WaitSucceeded"
    WAIT_CANCELLED = "WaitCancelled"
    STEP_STARTED = "StepStarted"
    STEP_SUCCEEDED = "StepSucceeded"
    STEP_FAILED = "StepFailed"
    CHAINED_INVOKE_STARTED = "ChainedInvokeStarted"
    CHAINED_INVOKE_SUCCEEDED = "ChainedInvokeSucceeded"
    CHAINED_INVOKE_FAILED = "ChainedInvokeFailed"
    CHAINED_INVOKE_TIMED_OUT = "ChainedInvokeTimedOut"
    CHAINED_INVOKE_STOPPED = "ChainedInvokeStopped"
    CALLBACK_STARTED = "CallbackStarted"
    CALLBACK_SUCCEEDED = "CallbackSucceeded"
    CALLBACK_FAILED = "CallbackFailed"
    CALLBACK_TIMED_OUT = "CallbackTimedOut"
    INVOCATION_COMPLETED = "InvocationCompleted"

    @property
    def details_key(self) -> str:
        """The `<EventType>Details` member that carries this event's details."""
        return f"{self.value}Details"


# --------------------------------------------------------------------------- errors


@value_type
class ErrorObject:
    """An error as the service records it.

    `message`, `type` and `data`, `to_dict()` and `from_dict()` are the official SDK's names
    for the same members, so code written against it (`item.error.type`) runs unchanged.
    """

    error_message: str | None = None
    error_type: str | None = None
    error_data: str | None = None
    stack_trace: tuple[str, ...] | None = None

    @property
    def message(self) -> str | None:
        return self.error_message

    @property
    def type(self) -> str | None:
        return self.error_type

    @property
    def data(self) -> str | None:
        return self.error_data

    def to_dict(self) -> dict[str, Any]:
        """The wire shape: `ErrorMessage`, `ErrorType`, `ErrorData`, `StackTrace` (those set)."""
        members = {
            "ErrorMessage": self.error_message,
            "ErrorType": self.error_type,
            "ErrorData": self.error_data,
            "StackTrace": None if self.stack_trace is None else list(self.stack_trace),
        }
        return {key: value for key, value in members.items() if value is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ErrorObject:
        """The error of a wire-shaped dict (missing members are None)."""
        trace = data.get("StackTrace")
        return cls(
            error_message=data.get("ErrorMessage"),
            error_type=data.get("ErrorType"),
            error_data=data.get("ErrorData"),
            stack_trace=None if trace is None else tuple(trace),
        )


# ----------------------------------------------------------------------- operations


@value_type
class ExecutionDetails:
    input_payload: str | None = None


@value_type
class ContextDetails:
    replay_children: bool | None = None
    result: str | None = None
    error: ErrorObject | None = None


@value_type
class StepDetails:
    attempt: int | None = None
    next_attempt_timestamp: datetime | None = None
    result: str | None = None
    error: ErrorObject | None = None


@value_type
class WaitDetails:
    scheduled_end_timestamp: datetime | None = None


@value_type
class CallbackDetails:
    callback_id: str | None
    """A member the official SDK requires in a non-empty `CallbackDetails`, null or not."""
    result: str | None = None
    error: ErrorObject | None = None


@value_type
class ChainedInvokeDetails:
    result: str | None = None
    error: ErrorObject | None = None


@value_type
class Operation:
    """One checkpointed operation as the service returns it."""

    id: str
    type: OperationType
    status: OperationStatus
    start_timestamp: datetime | None = None
    """Always set by the service; an operation without one is read, as the official SDK reads it."""
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    end_timestamp: datetime | None = None
    execution_details: ExecutionDetails | None = None
    context_details: ContextDetails | None = None
    step_details: StepDetails | None = None
    wait_details: WaitDetails | None = None
    callback_details: CallbackDetails | None = None
    chained_invoke_details: ChainedInvokeDetails | None = None


# ------------------------------------------------------------------ operation updates


@value_type
class ContextOptions:
    replay_children: bool | None = None


@value_type
class StepOptions:
    next_attempt_delay_seconds: int | None = None


@value_type
class WaitOptions:
    wait_seconds: int | None = None


@value_type
class CallbackOptions:
    timeout_seconds: int | None = None
    heartbeat_timeout_seconds: int | None = None


@value_type
class ChainedInvokeOptions:
    function_name: str
    tenant_id: str | None = None
    x_amzn_trace_id: str | None = None


@value_type
class OperationUpdate:
    """One change the SDK asks the service to record."""

    id: str
    type: OperationType
    action: OperationAction
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    payload: str | None = None
    error: ErrorObject | None = None
    context_options: ContextOptions | None = None
    step_options: StepOptions | None = None
    wait_options: WaitOptions | None = None
    callback_options: CallbackOptions | None = None
    chained_invoke_options: ChainedInvokeOptions | None = None


# --------------------------------------------------------------------------- history


@value_type
class EventInput:
    payload: str | None = None
    truncated: bool = False


@value_type
class EventResult:
    payload: str | None = None
    truncated: bool = False


@value_type
class EventError:
    payload: ErrorObject | None = None
    truncated: bool = False


@value_type
class RetryDetails:
    current_attempt: int | None = None
    next_attempt_delay_seconds: int | None = None


@value_type
class EventDetails:
    """The union of every `<EventType>Details` member.

    Each event type uses a subset (see `EVENT_DETAIL_FIELDS`); the codec writes exactly
    that subset, so `StepStartedDetails` is `{}` and `StepSucceededDetails` always has
    `Result` and `RetryDetails`.
    """

    input: EventInput | None = None
    result: EventResult | None = None
    error: EventError | None = None
    retry_details: RetryDetails | None = None
    execution_timeout: int | None = None
    duration: int | None = None
    scheduled_end_timestamp: datetime | None = None
    function_name: str | None = None
    tenant_id: str | None = None
    executed_version: str | None = None
    durable_execution_arn: str | None = None
    callback_id: str | None = None
    heartbeat_timeout: int | None = None
    timeout: int | None = None
    start_timestamp: datetime | None = None
    end_timestamp: datetime | None = None
    request_id: str | None = None


_ERR = ("error",)
_RES = ("result",)
EVENT_DETAIL_FIELDS: dict[EventType, tuple[str, ...]] = {
    EventType.EXECUTION_STARTED: ("input", "execution_timeout"),
    EventType.EXECUTION_SUCCEEDED: _RES,
    EventType.EXECUTION_FAILED: _ERR,
    EventType.EXECUTION_TIMED_OUT: _ERR,
    EventType.EXECUTION_STOPPED: _ERR,
    EventType.CONTEXT_STARTED: (),
    EventType.CONTEXT_SUCCEEDED: _RES,
    EventType.CONTEXT_FAILED: _ERR,
    EventType.WAIT_STARTED: ("duration", "scheduled_end_timestamp"),
    EventType.WAIT_SUCCEEDED: ("duration",),
    EventType.WAIT_CANCELLED: _ERR,
    EventType.STEP_STARTED: (),
    EventType.STEP_SUCCEEDED: ("result", "retry_details"),
    EventType.STEP_FAILED: ("error", "retry_details"),
    EventType.CHAINED_INVOKE_STARTED: (
        "function_name",
        "tenant_id",
        "input",
        "executed_version",
        "durable_execution_arn",
    ),
    EventType.CHAINED_INVOKE_SUCCEEDED: _RES,
    EventType.CHAINED_INVOKE_FAILED: _ERR,
    EventType.CHAINED_INVOKE_TIMED_OUT: _ERR,
    EventType.CHAINED_INVOKE_STOPPED: _ERR,
    EventType.CALLBACK_STARTED: ("callback_id", "heartbeat_timeout", "timeout"),
    EventType.CALLBACK_SUCCEEDED: _RES,
    EventType.CALLBACK_FAILED: _ERR,
    EventType.CALLBACK_TIMED_OUT: _ERR,
    EventType.INVOCATION_COMPLETED: ("start_timestamp", "end_timestamp", "request_id", "error"),
}


@value_type
class Event:
    """One history event (`GetDurableExecutionHistory`)."""

    event_type: EventType
    event_id: int
    event_timestamp: datetime
    id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    parent_id: str | None = None
    details: EventDetails = field(default_factory=EventDetails)


# ------------------------------------------------------------------------ invocation


@value_type
class InitialExecutionState:
    operations: tuple[Operation, ...] = ()
    next_marker: str | None = None


@value_type
class InvocationInput:
    """What the service passes to the handler on each invocation (the Lambda event)."""

    durable_execution_arn: str
    """Any string, as the official SDK reads it (emulators' execution ids are not ARNs)."""
    checkpoint_token: str | None
    """A member that must be there, but may be null (the SDK then cannot checkpoint)."""
    initial_execution_state: InitialExecutionState = field(
        default_factory=InitialExecutionState, metadata=NOT_NULL
    )
    updated_operation_ids: tuple[str, ...] = field(default=(), metadata=NOT_NULL)


@value_type
class InvocationOutput:
    """What the handler returns from one invocation."""

    status: InvocationStatus
    result: str | None = None
    error: ErrorObject | None = None


# ------------------------------------------------------------- API requests/responses


@value_type
class CheckpointDurableExecutionRequest:
    durable_execution_arn: str
    checkpoint_token: str
    updates: tuple[OperationUpdate, ...] = ()
    client_token: str | None = None


@value_type
class CheckpointUpdatedExecutionState:
    operations: tuple[Operation, ...] = ()
    next_marker: str | None = None


@value_type
class CheckpointDurableExecutionResponse:
    new_execution_state: CheckpointUpdatedExecutionState = field(
        default_factory=CheckpointUpdatedExecutionState
    )
    checkpoint_token: str | None = None


@value_type
class GetDurableExecutionStateRequest:
    durable_execution_arn: str
    checkpoint_token: str
    marker: str | None = None
    max_items: int | None = None


@value_type
class GetDurableExecutionStateResponse:
    operations: tuple[Operation, ...] = ()
    next_marker: str | None = None


@value_type
class GetDurableExecutionRequest:
    durable_execution_arn: str


@value_type
class TraceHeader:
    x_amzn_trace_id: str | None = None


@value_type
class GetDurableExecutionResponse:
    durable_execution_arn: str
    durable_execution_name: str
    function_arn: str
    status: ExecutionStatus
    start_timestamp: datetime
    input_payload: str | None = None
    result: str | None = None
    error: ErrorObject | None = None
    end_timestamp: datetime | None = None
    version: str | None = None
    trace_header: TraceHeader | None = None


@value_type
class GetDurableExecutionHistoryRequest:
    durable_execution_arn: str
    include_execution_data: bool | None = None
    max_items: int | None = None
    marker: str | None = None
    reverse_order: bool | None = None


@value_type
class GetDurableExecutionHistoryResponse:
    events: tuple[Event, ...] = ()
    next_marker: str | None = None


@value_type
class ListDurableExecutionsByFunctionRequest:
    function_name: str
    qualifier: str | None = None
    durable_execution_name: str | None = None
    statuses: tuple[ExecutionStatus, ...] | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    reverse_order: bool | None = None
    marker: str | None = None
    max_items: int | None = None


@value_type
class Execution:
    """One entry of `ListDurableExecutionsByFunction`."""

    durable_execution_arn: str
    durable_execution_name: str
    function_arn: str
    status: ExecutionStatus
    start_timestamp: datetime
    end_timestamp: datetime | None = None


@value_type
class ListDurableExecutionsByFunctionResponse:
    durable_executions: tuple[Execution, ...] = ()
    next_marker: str | None = None


@value_type
class StopDurableExecutionRequest:
    durable_execution_arn: str
    error: ErrorObject | None = None


@value_type
class StopDurableExecutionResponse:
    stop_timestamp: datetime


@value_type
class SendDurableExecutionCallbackSuccessRequest:
    callback_id: str
    result: bytes | None = None


@value_type
class SendDurableExecutionCallbackFailureRequest:
    callback_id: str
    error: ErrorObject | None = None


@value_type
class SendDurableExecutionCallbackHeartbeatRequest:
    callback_id: str


@value_type
class InvokeRequest:
    """`Invoke` of a durable function: starts (or joins) a durable execution."""

    function_name: str
    payload: bytes | None = None
    invocation_type: str | None = None  # "RequestResponse" | "Event"
    durable_execution_name: str | None = None
    qualifier: str | None = None
    tenant_id: str | None = None


@value_type
class InvokeResponse:
    status_code: int
    durable_execution_arn: str | None = None
    executed_version: str | None = None
    payload: bytes | None = None
    function_error: str | None = None


# ------------------------------------------------------------------------------ ARNs

ARN_PATTERN = re.compile(
    r"arn:([a-zA-Z0-9-]+):lambda:([a-zA-Z0-9-]+):(\d{12}):function:([a-zA-Z0-9_-]+):"
    r"(\$LATEST(?:\.PUBLISHED)?|[0-9]+)/durable-execution/([a-zA-Z0-9_-]+)/([a-zA-Z0-9_-]+)"
)


@value_type
class DurableExecutionArn:
    """`arn:<partition>:lambda:<region>:<account>:function:<fn>:<version>/durable-execution/<name>/<id>`."""

    partition: str
    region: str
    account_id: str
    function_name: str
    version: str
    execution_name: str
    invocation_id: str

    @classmethod
    def parse(cls, arn: str) -> DurableExecutionArn:
        match = ARN_PATTERN.fullmatch(arn)
        if match is None:
            raise ValueError(f"not a durable execution ARN: {arn!r}")
        return cls(*match.groups())

    @property
    def function_arn(self) -> str:
        return (
            f"arn:{self.partition}:lambda:{self.region}:{self.account_id}:function:"
            f"{self.function_name}:{self.version}"
        )

    def __str__(self) -> str:
        return f"{self.function_arn}/durable-execution/{self.execution_name}/{self.invocation_id}"
