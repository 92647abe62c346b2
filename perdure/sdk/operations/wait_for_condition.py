"""The wait-for-condition operation: poll a check function until a wait strategy stops.

Owns `WaitForConditionOperation`. It is recorded as one STEP with sub-type
`WaitForCondition`; each poll is one attempt of that step. Semantics (the official SDK 3.0's):
- no record or READY: START (async: it only marks that polling began), then poll;
  STARTED (an interrupted poll): poll again without a new START;
- PENDING: suspend until the next poll is due; SUCCEEDED: return the recorded state;
  FAILED: raise the recorded error as `WaitForConditionError`;
- a poll runs ``check(state, WaitForConditionCheckContext(logger, attempt))`` where the
  state is the previous poll's (`StepDetails.Result`) or, on the first poll, the
  configured ``initial_state`` after a serdes round trip, and ``attempt`` is
  `StepDetails.Attempt + 1`. The wait strategy then sees the round-tripped new state:
  stop -> SUCCEED with the state (sync) and return it; continue -> RETRY with the state as
  payload and `NextAttemptDelaySeconds` (at least 1 s, no error; the service records it
  as StepSucceeded with RetryDetails) and suspend;
- any error from the check, the serdes or the strategy (e.g. `create_wait_strategy`
  running out of attempts) -> FAIL and `WaitForConditionError`, except a retryable
  `InvocationError`, which is re-raised without a checkpoint so the invocation is retried.
The first run returns the serdes round trip of the final state and raises the error
rebuilt from the recorded `ErrorObject`, exactly what replay returns and raises.

Imports only `perdure.wire`, `perdure.sdk` modules below the context, and the stdlib.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from perdure.wire.limits import MAX_DELAY_SECONDS
from perdure.wire.types import (
    Operation,
    OperationAction,
    OperationStatus,
    OperationSubType,
    OperationType,
    StepOptions,
)

from ..errors import (
    InvalidStateError,
    ValidationError,
    WaitForConditionError,
    error_object_from_exception,
    raise_operation_error,
    retryable_invocation_error,
)
from ..logger import Logger, LogInfo
from ..payloads import check_payload_size
from ..serdes import as_declared, declared_result_type, deserialize, serialize
from ..state import ExecutionState
from ..types import WaitForConditionCheckContext
from ..waits import WaitForConditionConfig
from ._base import CheckResult, Flow, OperationExecutor, OperationIdentity, Scope, UserCall, validate_name
from ._suspend import suspend_for, suspend_until

T = TypeVar("T")

# A poll resumes from the stored state only while the step is between polls.
_RESUMABLE = frozenset({OperationStatus.STARTED, OperationStatus.READY})


class WaitForConditionOperation(OperationExecutor[T]):
    """Polls `check` until the wait strategy stops (see the module docstring).

    Args:
        check: the check; receives the current state and a `WaitForConditionCheckContext`
            and returns the new state.
        config: the wait strategy, the initial state and the state's serdes.
        state: the replay state.
        identity: the operation's identity (a STEP with sub-type `WaitForCondition`).
        logger: the owning context's logger (the check's logger is derived from it).
    """

    def __init__(
        self,
        check: Callable[[T, WaitForConditionCheckContext], T],
        config: WaitForConditionConfig[T],
        state: ExecutionState,
        identity: OperationIdentity,
        logger: Logger,
        *,
        off_loop: bool = False,
    ) -> None:
        super().__init__(state, identity)
        self.check = check
        self.config = config
        self.logger = logger
        self.off_loop = off_loop

    # ------------------------------------------------------------------ serdes

    def _serialize(self, value: T) -> str:
        payload = serialize(
            self.config.serdes, value, self.identity.operation_id, self.state.durable_execution_arn
        )
        check_payload_size("wait_for_condition", self.identity.operation_id, self.identity.name, payload)
        return payload

    def _deserialize(self, payload: str | None) -> T:
        """The state in `payload`, as the type the check function declares it returns (the
        default serdes only), as a step's result is."""
        if payload is None:
            return None  # type: ignore[return-value]
        value: T = deserialize(
            self.config.serdes, payload, self.identity.operation_id, self.state.durable_execution_arn
        )
        declared = declared_result_type(self.check, self.config.serdes)
        if declared is None:
            return value
        typed: T = as_declared(
            value, declared, f"wait_for_condition {self._label()!r} (id {self.identity.operation_id})"
        )
        return typed

    # ---------------------------------------------------------------- template

    def check_result_status(self) -> Flow[CheckResult[T]]:
        op = self.checkpoint()
        if op is not None:
            status = op.status
            details = op.step_details
            if status is OperationStatus.SUCCEEDED:
                return CheckResult.completed(self._deserialize(details.result if details else None))
            if status is OperationStatus.FAILED:
                raise_operation_error(details.error if details else None, WaitForConditionError)
            if status is OperationStatus.PENDING:
                suspend_until(
                    f"wait_for_condition {self._label()} polls again at its next attempt time",
                    details.next_attempt_timestamp if details else None,
                    self.state.clock,
                )
            if status is OperationStatus.STARTED:
                return CheckResult.ready(op)
            if status is not OperationStatus.READY:
                raise InvalidStateError(
                    f"wait_for_condition {self.identity.operation_id} has status {status.value}"
                )
        # The START only records that polling began; nothing waits on it.
        yield from self.send(OperationAction.START, sync=False)
        return CheckResult.ready(op)

    def execute(self, checkpoint: Operation | None) -> Flow[T]:
        identity = self.identity
        details = checkpoint.step_details if checkpoint is not None else None
        attempt = (details.attempt or 0) + 1 if details is not None else 1
        try:
            if checkpoint is not None and checkpoint.status in _RESUMABLE and details and details.result:
                current = self._deserialize(details.result)
            else:
                # The first poll sees the initial state as later polls see theirs: round-tripped.
                current = self._deserialize(self._serialize(self.config.initial_state))
            check_context = WaitForConditionCheckContext(
                logger=self.logger.with_log_info(
                    LogInfo(
                        self.state.durable_execution_arn,
                        identity.parent_id,
                        identity.operation_id,
                        identity.name,
                        attempt,
                    )
                ),
                attempt=attempt,
            )
            check = self.check
            new_state = yield UserCall(
                identity, lambda: check(current, check_context), off_loop=self.off_loop, attempt=attempt
            )
            payload = self._serialize(new_state)
            # The strategy judges the state replay would reconstruct, not the live object.
            decision = self.config.wait_strategy(self._deserialize(payload), attempt)
            if not decision.should_continue:
                # A fresh round trip: a strategy that mutated its argument cannot change it.
                value = self._deserialize(payload)
                yield from self.send(OperationAction.SUCCEED, payload=payload)
                return value
            delay = min(max(1, decision.delay_seconds), MAX_DELAY_SECONDS)
            yield from self.send(
                OperationAction.RETRY,
                payload=payload,
                step_options=StepOptions(next_attempt_delay_seconds=delay),
            )
            suspend_for(
                f"wait_for_condition {self._label()} polls again in {delay}s", delay, self.state.clock
            )
        except Exception as exc:  # suspension is a BaseException and passes through
            return (yield from self._fail(exc))

    def _fail(self, error: Exception) -> Flow[NoReturn]:
        """Record FAIL and raise `WaitForConditionError` (a retryable invocation error propagates)."""
        if retryable_invocation_error(error) is not None:
            raise error
        record = error_object_from_exception(error)
        yield from self.send(OperationAction.FAIL, error=record)
        raise_operation_error(record, WaitForConditionError)

    def _label(self) -> str:
        return self.identity.name or self.identity.operation_id


def wait_for_condition_operation(
    scope: Scope,
    check: Callable[[T, WaitForConditionCheckContext], Any],
    config: WaitForConditionConfig[T],
    name: str | None,
    *,
    off_loop: bool = False,
) -> WaitForConditionOperation[T]:
    """The operation `context.wait_for_condition(check, config, name)` runs.

    Raises:
        ValidationError: `check` or `config` is missing, or the name is invalid.
    """
    if check is None:
        raise ValidationError("`check` is required for wait_for_condition")
    if not config:
        raise ValidationError("`config` is required for wait_for_condition")
    validate_name("operation name", name)
    identity = scope.new_identity(OperationType.STEP, OperationSubType.WAIT_FOR_CONDITION.value, name)
    return WaitForConditionOperation(check, config, scope.state, identity, scope.logger, off_loop=off_loop)
