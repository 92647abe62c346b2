"""The step operation: run a function once (per retry attempt) and record its result.

Owns `StepOperation`. Semantics (the official SDK 3.0's):
- no record or READY: START (async under at-least-once, sync under at-most-once), run;
- STARTED on entry: at-least-once re-runs the attempt; at-most-once hands a
  `StepInterruptedError` to the retry strategy without running the body;
- PENDING: suspend until the retry is due; SUCCEEDED/FAILED: return / raise the record;
- body error: the retry strategy decides between RETRY (delay >= 1 s, then suspend) and
  FAIL (`StepError`); `SerDesError` fails without retry; `ExecutionError` and a
  `RetryableSerDesError` propagate unchanged.
The value returned on the first run is the serdes round trip of the result, the same
value replay returns; with the default serdes, converted to the type the step function
declares (a dataclass, a pydantic model, an enum...: see `perdure.sdk.serdes`). A result over the 256 KiB payload limit fails the step (no retry)
before anything is sent.

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

from ..config import StepConfig, StepSemantics
from ..errors import (
    ExecutionError,
    InvalidStateError,
    RetryableSerDesError,
    SerDesError,
    StepError,
    StepInterruptedError,
    error_object_from_exception,
    raise_operation_error,
)
from ..logger import Logger, LogInfo
from ..payloads import check_payload_size
from ..retries import RetryPresets
from ..serdes import as_declared, declared_result_type, deserialize, round_trip, serialize
from ..state import ExecutionState
from ..types import StepContext
from ._base import (
    CheckResult,
    Flow,
    OperationExecutor,
    OperationIdentity,
    Scope,
    UserCall,
    refuse_factory,
    validate_name,
)
from ._suspend import suspend_for, suspend_until

T = TypeVar("T")

_DEFAULT_RETRY = RetryPresets.default()
_DEFAULT_CONFIG = StepConfig()
# Enum members read on the hot path are globals: on Python 3.11 a read from the enum class
# goes through `EnumType.__getattr__`, about ten times the cost.
_STEP = OperationType.STEP
_STEP_SUB_TYPE = OperationSubType.STEP.value
_START, _SUCCEED = OperationAction.START, OperationAction.SUCCEED
_SUCCEEDED, _STARTED = OperationStatus.SUCCEEDED, OperationStatus.STARTED
_AT_MOST_ONCE = StepSemantics.AT_MOST_ONCE_PER_RETRY


class StepOperation(OperationExecutor[T]):
    """Runs one step (see the module docstring).

    Args:
        func: the step body; receives a `StepContext`.
        config: the step options.
        state: the replay state.
        identity: the step's identity.
        logger: the owning context's logger (the step's logger is derived from it).
        off_loop: on the async face, run the (sync) body on a worker thread.
    """

    def __init__(
        self,
        func: Callable[[StepContext], T],
        config: StepConfig,
        state: ExecutionState,
        identity: OperationIdentity,
        logger: Logger,
        *,
        off_loop: bool = False,
    ) -> None:
        super().__init__(state, identity)
        self.func = func
        self.config = config
        self.logger = logger
        self.off_loop = off_loop

    def check_result_status(self) -> Flow[CheckResult[T]]:
        op = self.checkpoint()
        at_most_once = self.config.step_semantics is _AT_MOST_ONCE
        if op is not None:
            status = op.status
            if status is _SUCCEEDED:
                return CheckResult.completed(self._result_of(op))
            if status is OperationStatus.FAILED:
                details = op.step_details
                raise_operation_error(details.error if details else None, StepError)
            if status is OperationStatus.PENDING:
                details = op.step_details
                suspend_until(
                    f"retry of step {self.identity.name or self.identity.operation_id} is scheduled",
                    details.next_attempt_timestamp if details else None,
                    self.state.clock,
                )
            if status is OperationStatus.STARTED:
                if at_most_once:
                    yield from self._retry_or_fail(
                        StepInterruptedError(
                            f"Step operation_id={self.identity.operation_id} name={self.identity.name} "
                            "was previously interrupted",
                            self.identity.operation_id,
                        ),
                        op,
                    )
                return CheckResult.ready(op)
            if status is not OperationStatus.READY:
                raise InvalidStateError(f"step {self.identity.operation_id} has status {status.value}")
        yield from self.send(_START, sync=at_most_once)
        if at_most_once:
            refreshed = self.state.operations.get(self.identity.operation_id)
            if refreshed is None or refreshed.status is not _STARTED:
                found = refreshed.status.value if refreshed is not None else "no record"
                raise InvalidStateError(f"unexpected status after step START: {found}")
            return CheckResult.ready(refreshed)
        return CheckResult.ready(op)

    def _result_of(self, op: Operation) -> T | None:
        details = op.step_details
        if details is None or details.result is None:
            return None
        value: T = deserialize(
            self.config.serdes, details.result, self.identity.operation_id, self.state.durable_execution_arn
        )
        typed: T = self._typed(value)
        return typed

    def _typed(self, value: Any) -> Any:
        """`value` as the step function's declared return type (the default serdes only)."""
        declared = declared_result_type(self.func, self.config.serdes)
        if declared is None:
            return value
        identity = self.identity
        return as_declared(
            value, declared, f"step {identity.name or identity.operation_id!r} (id {identity.operation_id})"
        )

    def execute(self, checkpoint: Operation | None) -> Flow[T]:
        identity = self.identity
        details = checkpoint.step_details if checkpoint is not None else None
        attempt = (details.attempt or 0) + 1 if details is not None else 1
        step_logger = self.logger.with_log_info(
            LogInfo(
                self.state.durable_execution_arn,
                identity.parent_id,
                identity.operation_id,
                identity.name,
                attempt,
            )
        )
        arn = self.state.durable_execution_arn
        try:
            # Positional (a class called with keywords first packs them into a dict).
            step_context = StepContext(step_logger, attempt)
            func = self.func
            raw = yield UserCall(identity, lambda: func(step_context), self.off_loop, attempt)
            payload = serialize(self.config.serdes, raw, identity.operation_id, arn, identity.name)
            check_payload_size("step", identity.operation_id, identity.name, payload)
            value: Any = self._typed(round_trip(self.config.serdes, raw, payload, identity.operation_id, arn))
            yield from self.send(_SUCCEED, payload=payload)
            return value  # type: ignore[no-any-return]
        except RetryableSerDesError:
            raise
        except SerDesError as exc:
            error = error_object_from_exception(exc)
            yield from self.send(OperationAction.FAIL, error=error)
            raise_operation_error(error, StepError)
        except ExecutionError:
            raise
        except Exception as exc:
            return (yield from self._retry_or_fail(exc, checkpoint))

    def _retry_or_fail(self, error: Exception, checkpoint: Operation | None) -> Flow[NoReturn]:
        """Ask the retry strategy: RETRY and suspend, or FAIL and raise `StepError`."""
        record = error_object_from_exception(error)
        details = checkpoint.step_details if checkpoint is not None else None
        attempts_made = (details.attempt or 0) + 1 if details is not None else 1
        strategy = self.config.retry_strategy or _DEFAULT_RETRY
        decision = strategy(error, attempts_made)
        if decision.should_retry:
            delay = min(max(1, decision.delay_seconds), MAX_DELAY_SECONDS)
            yield from self.send(
                OperationAction.RETRY,
                error=record,
                step_options=StepOptions(next_attempt_delay_seconds=delay),
            )
            suspend_for(
                f"retry of step {self.identity.name or self.identity.operation_id} in {delay}s",
                delay,
                self.state.clock,
            )
        yield from self.send(OperationAction.FAIL, error=record)
        raise_operation_error(record, StepError)


def step_operation(
    scope: Scope,
    func: Callable[[StepContext], T],
    name: str | None,
    config: StepConfig | None,
    *,
    off_loop: bool = False,
) -> StepOperation[T]:
    """The step `context.step(func, name, config)` runs (its id taken now).

    Raises:
        ValidationError: the name is invalid (nothing is checkpointed).
        DurableUsageError: `func` is a `@durable_step` function, not called.
    """
    refuse_factory("step", func)
    name = name or getattr(func, "_original_name", None)
    if name is not None:  # most steps have none: no call
        validate_name("operation name", name)
    config = config or _DEFAULT_CONFIG
    identity = scope.new_identity(_STEP, config.sub_type or _STEP_SUB_TYPE, name)
    return StepOperation(func, config, scope.state, identity, scope.logger, off_loop=off_loop)
