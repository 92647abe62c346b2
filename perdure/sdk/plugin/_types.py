"""The instrumentation plugin contract: the hook infos, the plugin base class, the factory.

Owns the values a plugin receives (official SDK 3.0 names and fields: `InvocationStartInfo`,
`InvocationEndInfo`, `OperationStartInfo`, `OperationEndInfo`, `OperationChangeInfo`,
`UserFunctionStartInfo`, `UserFunctionEndInfo`, the propagation pair) and what a plugin
author writes (`DurableInstrumentationPlugin`, `DurableInstrumentationPluginFactory`).
Nothing here runs a hook: `perdure.sdk.plugin._dispatcher` does. Imports only
`perdure.wire` and the standard library.

Operation types and statuses are the wire's own enums (`OperationType`, `OperationStatus`),
and errors are wire `ErrorObject`s, so a plugin compares them with the values in the
history. `InvocationStatus` is the one enum of its own: the wire's invocation status plus
`RETRY`, which a plugin sees when the invocation ends by raising (the service retries it)
and which never travels on the wire. It is a `StrEnum`, so its members equal the wire's.
"""

from __future__ import annotations

import datetime
from dataclasses import field
from enum import StrEnum
from typing import Any, Protocol, Self

from perdure.wire.fast_init import value_type
from perdure.wire.types import ErrorObject, Operation, OperationStatus, OperationType


class InvocationStatus(StrEnum):
    """How an invocation ended, as `on_invocation_end` reports it."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    PENDING = "PENDING"
    RETRY = "RETRY"
    """The invocation raised; the service invokes the function again."""


class UserFunctionOutcome(StrEnum):
    """How a user function (a step body, a child body, a check) ended."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    """It raised an `Exception`."""
    INCOMPLETE = "INCOMPLETE"
    """It was interrupted by a control-flow signal (suspension, an orphaned branch)."""


class _Outcome(Protocol):
    """The details of an operation that can finish with a result or an error."""

    @property
    def result(self) -> str | None: ...

    @property
    def error(self) -> ErrorObject | None: ...


def _outcomes(op: Operation) -> tuple[_Outcome | None, ...]:
    return (op.step_details, op.callback_details, op.chained_invoke_details, op.context_details)


def operation_result(op: Operation) -> str | None:
    """The serialized result a terminal operation recorded, if any."""
    for details in _outcomes(op):
        if details is not None and details.result is not None:
            return details.result
    return None


def operation_error(op: Operation) -> ErrorObject | None:
    """The error a failed operation recorded, if any."""
    for details in _outcomes(op):
        if details is not None and details.error is not None:
            return details.error
    return None


@value_type(slots=False)
class OperationInfo:
    """One operation as a plugin sees it.

    Attributes:
        operation_id: the operation's id (the `Id` in the history).
        operation_type: STEP, WAIT, CONTEXT, CALLBACK, CHAINED_INVOKE (or EXECUTION).
        sub_type: the recorded sub-type string ("Step", "Map", ...), None for the root.
        name: the operation's name.
        parent_id: the enclosing context's operation id, None at the top level.
        start_time: when the operation started, when known.
        is_replayed: the hook reports an operation recorded by an earlier invocation.
        status: the operation's status.
        end_time: when it ended, when known.
        result: the serialized result, when available.
        error: the recorded error, when available.
        attempt: the step attempt the record describes (1-based), when known.
    """

    operation_id: str
    operation_type: OperationType
    sub_type: str | None
    name: str | None
    parent_id: str | None
    start_time: datetime.datetime | None
    is_replayed: bool
    status: OperationStatus
    end_time: datetime.datetime | None = field(default=None, kw_only=True)
    result: str | None = field(default=None, kw_only=True)
    error: ErrorObject | None = field(default=None, kw_only=True)
    attempt: int | None = field(default=None, kw_only=True)

    @classmethod
    def from_operation(cls, op: Operation, *, is_replayed: bool = False) -> Self:
        """The plugin view of a checkpointed operation."""
        return cls(
            operation_id=op.id,
            operation_type=op.type,
            sub_type=op.sub_type,
            name=op.name,
            parent_id=op.parent_id,
            start_time=op.start_timestamp,
            is_replayed=is_replayed,
            status=op.status,
            end_time=op.end_timestamp,
            result=operation_result(op),
            error=operation_error(op),
            attempt=op.step_details.attempt if op.step_details is not None else None,
        )


@value_type(slots=False)
class OperationStartInfo(OperationInfo):
    """`on_operation_start`: a START is about to be checkpointed, or a live operation replays.

    Attributes:
        branch_count: for a map, how many items it has; for a parallel, how many branches;
            None for other operations. A perdure extension: no history records it.
    """

    branch_count: int | None = field(default=None, kw_only=True)


@value_type(slots=False)
class OperationEndInfo(OperationInfo):
    """`on_operation_end`: the operation reached a terminal status (once per invocation)."""


@value_type(slots=False)
class OperationChangeInfo:
    """`on_operation_change`: checkpoint responses changed operation statuses.

    Attributes:
        execution_arn: the execution.
        updated_operations: the newest state of every operation whose status changed
            since the previous call, by id.
        operations: the newest full operation map, by id.
    """

    execution_arn: str | None
    updated_operations: dict[str, OperationInfo]
    operations: dict[str, OperationInfo]


@value_type(slots=False)
class UserFunctionStartInfo(OperationInfo):
    """`on_user_function_start`: a step body, child body or check is about to run.

    Attributes:
        is_replay_children: the body runs again to replay a large child result.
    """

    is_replay_children: bool = False


@value_type(slots=False)
class UserFunctionEndInfo(OperationInfo):
    """`on_user_function_end`: the user function returned, raised or was interrupted.

    Attributes:
        is_replay_children: as in the start info.
        outcome: SUCCEEDED, FAILED (`error` holds what it raised) or INCOMPLETE.
    """

    is_replay_children: bool
    outcome: UserFunctionOutcome


@value_type(slots=False)
class InvocationInfo:
    """What both invocation hooks carry.

    Attributes:
        request_id: the Lambda request id, when the invocation has a Lambda context.
        execution_arn: the durable execution's ARN.
        is_first_invocation: no operation besides the EXECUTION one was recorded before.
        execution_start_time: when the execution started.
        execution_input: the deserialized execution input (a copy: mutating it changes
            nothing). Left out of `repr` and comparisons: it is user data.
        operations: the checkpointed operations at that moment, by id (left out of
            `repr` and comparisons for the same reason).
    """

    request_id: str | None
    execution_arn: str | None
    is_first_invocation: bool
    execution_start_time: datetime.datetime | None = None
    execution_input: Any = field(default=None, kw_only=True, repr=False, compare=False)
    operations: dict[str, OperationInfo] = field(
        default_factory=dict, kw_only=True, repr=False, compare=False
    )


@value_type(slots=False)
class InvocationStartInfo(InvocationInfo):
    """`on_invocation_start`, and the argument of `create_plugin`.

    Attributes:
        updated_operations: the operations the service changed while the execution was
            suspended (the invocation's `UpdatedOperationIds`), by id.
    """

    updated_operations: dict[str, OperationInfo] = field(
        default_factory=dict, kw_only=True, repr=False, compare=False
    )


@value_type(slots=False)
class InvocationEndInfo(InvocationInfo):
    """`on_invocation_end`.

    Attributes:
        status: SUCCEEDED, FAILED, PENDING (suspended) or RETRY (raised).
        error: the invocation's error, when it failed or raised.
        execution_result: the serialized result ("" when it went through a checkpoint),
            None unless SUCCEEDED.
    """

    status: InvocationStatus = field(kw_only=True)
    error: ErrorObject | None = None
    execution_result: str | None = field(default=None, kw_only=True, repr=False, compare=False)


@value_type(slots=False)
class PropagationInput:
    """Who asks for propagation metadata: a chained invoke about to be started.

    Attributes:
        execution_arn: the calling execution.
        operation_id: the invoke operation's id.
        target_function_name: the function being invoked.
        parent_operation_id: the enclosing context's operation id.
    """

    execution_arn: str
    operation_id: str
    target_function_name: str
    parent_operation_id: str | None = None


@value_type(slots=False)
class PropagationMetadata:
    """What a plugin contributes to a new chained invoke (the first non-blank value wins).

    Attributes:
        x_amzn_trace_id: the trace header to send with the invoke.
    """

    x_amzn_trace_id: str | None = None


class DurableInstrumentationPlugin:
    """Base class of instrumentation plugins: override the hooks you need.

    One instance serves one invocation (a factory builds it). Every hook is a plain call
    on the thread named below, which waits for it; none runs on the checkpoint thread.

    - `on_invocation_start` / `on_invocation_end`: the handler thread, before the handler
      runs, and after every other hook of the invocation has returned.
    - `on_operation_start`, `on_user_function_start`/`_end`, `on_operation_end`: the thread
      that runs the operation (the handler thread, or a map/parallel branch thread).
    - `on_operation_change`: the invocation's one plugin-change thread.

    An exception a hook raises is logged and ignored, so a plugin can never fail the
    execution; `KeyboardInterrupt`, `SystemExit` and `GeneratorExit` propagate.
    See docs/plugins.md for the firing rules.
    """

    def provide_propagation_metadata(self, info: PropagationInput) -> PropagationMetadata | None:
        """Metadata for a new chained invoke (called before its START, never on replay)."""
        return None

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        """The invocation starts; the handler has not run yet."""

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        """The invocation ended; no other hook of it runs afterwards."""

    def on_operation_start(self, info: OperationStartInfo) -> None:
        """An operation's START is about to be checkpointed, or a live one replays."""

    def on_operation_end(self, info: OperationEndInfo) -> None:
        """An operation reached a terminal status (once per operation per invocation)."""

    def on_operation_change(self, info: OperationChangeInfo) -> None:
        """Checkpoint responses changed operation statuses (merged, on the change thread)."""

    def on_user_function_start(self, info: UserFunctionStartInfo) -> None:
        """A user function (step body, child body, check) is about to run."""

    def on_user_function_end(self, info: UserFunctionEndInfo) -> None:
        """A user function returned, raised or was interrupted."""


class DurableInstrumentationPluginFactory(Protocol):
    """Builds the plugin instance of one invocation; registered with `durable_execution`.

    The factory lives as long as the handler (hold exporters and configuration here); the
    plugin it returns lives for one invocation. A class is not a factory: register an
    instance, e.g. ``durable_execution(plugins=[MyPluginFactory(exporter)])``.
    """

    def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
        """The plugin for the invocation `info` describes (called before any hook)."""
        ...


__all__ = [
    "DurableInstrumentationPlugin",
    "DurableInstrumentationPluginFactory",
    "InvocationEndInfo",
    "InvocationInfo",
    "InvocationStartInfo",
    "InvocationStatus",
    "OperationChangeInfo",
    "OperationEndInfo",
    "OperationInfo",
    "OperationStartInfo",
    "PropagationInput",
    "PropagationMetadata",
    "UserFunctionEndInfo",
    "UserFunctionOutcome",
    "UserFunctionStartInfo",
    "operation_error",
    "operation_result",
]
