"""The callback operation: ask the service for a callback id, then wait for someone to use it.

Owns `CallbackOperation` (what `DurableContext.create_callback` runs) and `Callback`, the
handle it returns. Semantics (the official SDK 3.0's):
- no record: sync CALLBACK START with `CallbackOptions{TimeoutSeconds,
  HeartbeatTimeoutSeconds}` (0 = none), then re-check: the response carries the id;
- a record in any status, even FAILED or TIMED_OUT: return a `Callback` for its id.
  `create_callback` never raises for the callback's outcome, so the code between it and
  `Callback.result()` runs the same way on every replay;
- `Callback.result()`: SUCCEEDED -> the result, deserialized with the config's serdes
  (default: the raw string, passed through; no result -> None); FAILED, CANCELLED or
  STOPPED -> `CallbackExternalError`; TIMED_OUT -> `CallbackTimeoutError`; still open ->
  suspend until the service re-invokes (a completion always re-invokes).

Imports only `perdure.wire`, `perdure.sdk` modules below the context, and the stdlib.
"""

from __future__ import annotations

from typing import Any, Generic, NoReturn, TypeVar

from perdure.wire.types import (
    CallbackOptions,
    Operation,
    OperationAction,
    OperationStatus,
    OperationSubType,
    OperationType,
)

from ..config import CallbackConfig
from ..errors import CallbackError, CallbackExternalError, CallbackTimeoutError
from ..serdes import PassThroughSerDes, SerDes, deserialize
from ..state import ExecutionState
from ._base import CheckResult, Flow, OperationExecutor, OperationIdentity, Scope, validate_name
from ._suspend import suspend_for

T = TypeVar("T")

_PASS_THROUGH: SerDes[Any] = PassThroughSerDes()
_EXTERNAL_FAILURE = frozenset({OperationStatus.FAILED, OperationStatus.CANCELLED, OperationStatus.STOPPED})


class Callback(Generic[T]):
    """A callback created by `DurableContext.create_callback`.

    Hand `callback_id` to the external system; it completes the callback with
    `SendDurableExecutionCallbackSuccess`/`Failure` (and keeps it alive with
    `SendDurableExecutionCallbackHeartbeat`).

    Attributes:
        callback_id: the id the service issued (opaque; bound to this execution).
        operation_id: the CALLBACK operation's id.
    """

    def __init__(
        self, callback_id: str, operation_id: str, state: ExecutionState, serdes: SerDes[T] | None = None
    ) -> None:
        self.callback_id = callback_id
        self.operation_id = operation_id
        self.state = state
        self.serdes = serdes

    def result(self) -> T | None:
        """The callback's result; suspends the execution until it has one.

        Returns:
            The result deserialized with the config's serdes (default: the raw string);
            None when the external system sent no result.

        Raises:
            CallbackExternalError: the external system reported a failure.
            CallbackTimeoutError: the callback timed out (timeout or heartbeat timeout).
            SuspendExecution: no outcome yet (a control-flow signal: do not catch it).
        """
        op = self.state.operations.get(self.operation_id)
        if op is None:
            raise CallbackError("Callback operation must exist")
        self.state.plugins.operation_observed(op)  # a terminal record runs the end hook once
        if op.status is OperationStatus.TIMED_OUT or op.status in _EXTERNAL_FAILURE:
            self._raise_failure(op)
        if op.status is OperationStatus.SUCCEEDED:
            result = op.callback_details.result if op.callback_details is not None else None
            if result is None:
                return None
            serdes: SerDes[Any] = self.serdes if self.serdes is not None else _PASS_THROUGH
            value: T = deserialize(serdes, result, self.operation_id, self.state.durable_execution_arn)
            return value
        suspend_for(f"callback {self.operation_id}: result not received yet", None, self.state.clock)

    def _raise_failure(self, op: Operation) -> NoReturn:
        error = op.callback_details.error if op.callback_details is not None else None
        timed_out = op.status is OperationStatus.TIMED_OUT
        error_cls: type[CallbackError] = CallbackTimeoutError if timed_out else CallbackExternalError
        default = "Callback timed out" if timed_out else "Callback failed"
        raise error_cls(
            message=(error.error_message if error is not None else None) or default,
            data=error.error_data if error is not None else None,
            stack_trace=list(error.stack_trace) if error is not None and error.stack_trace else None,
        )


class CallbackOperation(OperationExecutor[Callback[Any]]):
    """Creates (or finds) one callback (see the module docstring).

    Args:
        config: timeouts, serdes and sub-type.
        state: the replay state.
        identity: the CALLBACK operation's identity.
    """

    def __init__(self, config: CallbackConfig, state: ExecutionState, identity: OperationIdentity) -> None:
        super().__init__(state, identity)
        self.config = config

    def check_result_status(self) -> Flow[CheckResult[Callback[Any]]]:
        op = self.checkpoint()
        if op is None:
            options = CallbackOptions(
                timeout_seconds=self.config.timeout_seconds,
                heartbeat_timeout_seconds=self.config.heartbeat_timeout_seconds,
            )
            # Sync: the caller needs the id the service generates before it can go on.
            yield from self.send(OperationAction.START, callback_options=options)
            return CheckResult.started()
        return CheckResult.ready(op)

    def execute(self, checkpoint: Operation | None) -> Flow[Callback[Any]]:
        details = checkpoint.callback_details if checkpoint is not None else None
        if details is None or not details.callback_id:
            raise CallbackError(f"Missing callback details for operation: {self.identity.operation_id}")
        return Callback(details.callback_id, self.identity.operation_id, self.state, self.config.serdes)
        yield  # a flow without I/O of its own


def callback_operation(scope: Scope, name: str | None, config: CallbackConfig | None) -> CallbackOperation:
    """The callback `context.create_callback(name, config)` creates (its id taken now).

    Raises:
        ValidationError: the name is invalid.
    """
    validate_name("operation name", name)
    config = config or CallbackConfig()
    identity = scope.new_identity(
        OperationType.CALLBACK, config.sub_type or OperationSubType.CALLBACK.value, name
    )
    return CallbackOperation(config, scope.state, identity)
