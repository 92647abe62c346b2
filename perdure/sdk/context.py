"""`DurableContext`: the object a durable handler receives, and the step decorators.

Thin by design: each public method validates its arguments, takes the next deterministic
operation id, builds one operation object (`perdure.sdk.operations.*`) and runs it inside
the replay-status boundary. Also owns the decorators `durable_step`,
`durable_with_child_context` and `durable_wait_for_callback`.
Imports only `perdure.wire`, the other `perdure.sdk` modules and the standard library.

Replay status is tracked per context (official SDK §4.3): a context starts replaying when
recorded operations exist, and flips to new when it reaches an operation without a record,
a non-terminal step (a retry), or after a non-terminal resume point (a wait).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

from perdure.wire.limits import MAX_DELAY_SECONDS
from perdure.wire.types import OperationStatus, OperationSubType, OperationType

from .batch import BatchResult
from .completion import MapConfig, ParallelBranch, ParallelConfig
from .config import CallbackConfig, ChildConfig, Duration, InvokeConfig, StepConfig, WaitForCallbackConfig
from .errors import ValidationError
from .operations._base import OperationExecutor, validate_name
from .operations.callback import Callback, CallbackOperation
from .operations.child_context import ChildContextOperation
from .operations.invoke import InvokeOperation
from .operations.map import map_items as run_map
from .operations.parallel import parallel as run_parallel
from .operations.step import StepOperation
from .operations.wait import WaitOperation
from .operations.wait_for_callback import Submitter, translate_errors, wait_for_callback_body
from .operations.wait_for_condition import WaitForConditionOperation
from .scope import ContextScope
from .types import ExecutionContext, StepContext, WaitForCallbackContext, WaitForConditionCheckContext
from .waits import WaitForConditionConfig

T = TypeVar("T")
U = TypeVar("U")
PayloadT = TypeVar("PayloadT")
ResultT = TypeVar("ResultT")
P = ParamSpec("P")

_DEFAULT_STEP_CONFIG = StepConfig()
_DEFAULT_CHILD_CONFIG: ChildConfig[Any] = ChildConfig()
_STEP = OperationType.STEP
_STEP_SUB_TYPE = OperationSubType.STEP.value


class DurableContext(ContextScope):
    """The durable operations available to a sync handler (and to its child contexts).

    Created by `durable_execution`; user code does not construct it. Its ids, parent and
    replay flag live in `ContextScope`, shared with `AsyncDurableContext`.

    Attributes:
        state: the execution's replay state.
        execution_context: facts about the execution (`durable_execution_arn`).
        lambda_context: the Lambda context object the handler was invoked with.
        logger: a replay-aware logger (silent while this context replays).
    """

    def _run_operation(self, executor: OperationExecutor[T]) -> T:
        """Run `executor` inside the replay-status boundary of this context."""
        if not self._replaying:
            return executor.process()
        flip_after = self.enter(executor.identity)
        try:
            return executor.process()
        finally:
            self.leave(flip_after)

    # -------------------------------------------------------------- operations

    def step(
        self,
        func: Callable[[StepContext], T],
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T:
        """Run `func` as a durable step: once per attempt, its result checkpointed.

        Args:
            func: the step body; receives a `StepContext`.
            name: the operation name (default: the `@durable_step` function's name).
            config: retry strategy, semantics, serdes and sub-type.

        Returns:
            The result, as the serdes round trip (the value replay returns too).

        Raises:
            StepError: the step failed (retries exhausted or not retryable).
            SerDesError: the result could not be serialized or is too large.
        """
        name = name or getattr(func, "_original_name", None)
        validate_name("operation name", name)
        config = config or _DEFAULT_STEP_CONFIG
        identity = self.new_identity(_STEP, config.sub_type or _STEP_SUB_TYPE, name)
        return self._run_operation(StepOperation(func, config, self.state, identity, self.logger))

    def wait(self, duration: Duration, name: str | None = None) -> None:
        """Suspend the execution for `duration` (the function is re-invoked afterwards).

        Args:
            duration: between 1 second and 31,622,400 seconds (366 days).
            name: the operation name.

        Raises:
            ValidationError: the duration is out of range.
        """
        seconds = duration.to_seconds()
        if seconds < 1:
            raise ValidationError("duration must be at least 1 second")
        if seconds > MAX_DELAY_SECONDS:
            raise ValidationError(
                f"duration must be at most {MAX_DELAY_SECONDS:,} seconds (366 days), got {seconds:,}"
            )
        validate_name("operation name", name)
        identity = self.new_identity(OperationType.WAIT, OperationSubType.WAIT.value, name)
        self._run_operation(WaitOperation(seconds, self.state, identity))

    def run_in_child_context(
        self,
        func: Callable[[DurableContext], T],
        name: str | None = None,
        config: ChildConfig[T] | None = None,
    ) -> T:
        """Run `func` with a child context whose operations are grouped under one CONTEXT.

        Args:
            func: the body; receives the child `DurableContext`.
            name: the operation name (default: the `@durable_with_child_context` name).
            config: serdes, sub-type, summary generator, virtual.

        Returns:
            The body's result, as the serdes round trip.

        Raises:
            ChildContextError: the body raised.
        """
        name = name or getattr(func, "_original_name", None)
        validate_name("operation name", name)
        config = config or _DEFAULT_CHILD_CONFIG
        identity = self.new_identity(
            OperationType.CONTEXT, config.sub_type or OperationSubType.RUN_IN_CHILD_CONTEXT.value, name
        )
        child_id = identity.operation_id
        is_virtual = config.is_virtual

        def body() -> T:
            return func(self.create_child_context(child_id, is_virtual=is_virtual))

        return self._run_operation(ChildContextOperation(body, config, self.state, identity))

    # map/parallel: thin delegation; the batch machinery lives in operations/parallel.py,
    # operations/map.py, operations/_batch.py and concurrency.py.
    def parallel(
        self,
        functions: Sequence[Callable[[DurableContext], T] | ParallelBranch[T]],
        name: str | None = None,
        config: ParallelConfig | None = None,
    ) -> BatchResult[T]:
        """Run `functions` concurrently, each in its own child context.

        Args:
            functions: the branches (callables of the branch context, or `ParallelBranch`).
            name: the operation name.
            config: max concurrency, completion policy, serdes, summary, nesting type.

        Returns:
            One item per admitted branch, in index order. Never raises because branches
            failed: call `throw_if_error()`.

        Raises:
            ValidationError: invalid branches or config (before anything is checkpointed).
        """
        return run_parallel(self, functions, name, config)

    def map(
        self,
        inputs: Sequence[U],
        func: Callable[[DurableContext, U, int, Sequence[U]], T],
        name: str | None = None,
        config: MapConfig[U] | None = None,
    ) -> BatchResult[T]:
        """Run `func(context, item, index, inputs)` for every item, each in its own child context.

        Args:
            inputs: the items.
            func: the iteration body.
            name: the operation name (default: the decorated function's name).
            config: max concurrency, completion policy, serdes, summary, nesting, item namer.

        Returns:
            One item per admitted iteration, in index order. Never raises because items
            failed: call `throw_if_error()`.

        Raises:
            ValidationError: invalid inputs, function, item namer or config (before anything
                is checkpointed).
        """
        return run_map(self, inputs, func, name, config)

    def create_callback(self, name: str | None = None, config: CallbackConfig | None = None) -> Callback[Any]:
        """Create a callback an external system completes (success, failure, heartbeats).

        Args:
            name: the operation name.
            config: timeout, heartbeat timeout (0 = none), the result's serdes, sub-type.

        Returns:
            A `Callback`: hand out `callback_id`, then `result()` waits for the outcome.
            Never raises for the callback's outcome; `result()` does.
        """
        validate_name("operation name", name)
        config = config or CallbackConfig()
        identity = self.new_identity(
            OperationType.CALLBACK, config.sub_type or OperationSubType.CALLBACK.value, name
        )
        return self._run_operation(CallbackOperation(config, self.state, identity))

    def wait_for_callback(
        self, submitter: Submitter, name: str | None = None, config: WaitForCallbackConfig | None = None
    ) -> Any:
        """Create a callback, run `submitter(callback_id, context)` as a step, wait for the result.

        Args:
            submitter: hands the callback id to the external system (retried as a step).
            name: the operation name (default: the `@durable_wait_for_callback` name).
            config: the callback's timeouts and serdes, the submitter's retry strategy.

        Returns:
            The callback's result (deserialized with `config.serdes`; default: the raw string).

        Raises:
            CallbackExternalError, CallbackTimeoutError: the callback failed or timed out.
            CallbackSubmitterError: the submitter step failed (retries exhausted).
        """
        name = name or getattr(submitter, "_original_name", None)
        validate_name("operation name", name)
        identity = self.new_identity(OperationType.CONTEXT, OperationSubType.WAIT_FOR_CALLBACK.value, name)
        child_id = identity.operation_id

        def body() -> Any:
            return wait_for_callback_body(self.create_child_context(child_id), submitter, name, config)

        operation = ChildContextOperation(body, _DEFAULT_CHILD_CONFIG, self.state, identity)
        return translate_errors(lambda: self._run_operation(operation))

    def wait_for_condition(
        self,
        check: Callable[[T, WaitForConditionCheckContext], T],
        config: WaitForConditionConfig[T],
        name: str | None = None,
    ) -> T:
        """Poll `check` until the wait strategy stops; each poll after the first is resumed later.

        Args:
            check: receives the current state and a `WaitForConditionCheckContext`, returns
                the new state.
            config: the wait strategy, the initial state and the state's serdes (required).
            name: the operation name.

        Returns:
            The final state, as the serdes round trip.

        Raises:
            ValidationError: `check` or `config` is missing.
            WaitForConditionError: the check or the wait strategy raised (for example,
                attempts exhausted).
        """
        if check is None:
            raise ValidationError("`check` is required for wait_for_condition")
        if not config:
            raise ValidationError("`config` is required for wait_for_condition")
        validate_name("operation name", name)
        identity = self.new_identity(_STEP, OperationSubType.WAIT_FOR_CONDITION.value, name)
        return self._run_operation(
            WaitForConditionOperation(check, config, self.state, identity, self.logger)
        )

    def invoke(
        self,
        function_name: str,
        payload: PayloadT,
        name: str | None = None,
        config: InvokeConfig[PayloadT, ResultT] | None = None,
    ) -> ResultT:
        """Invoke another durable function and return its result (the function suspends
        until the invoked execution ends).

        Args:
            function_name: the function: its name, function ARN or qualified ARN.
            payload: its input, serialized with `config.serdes_payload` (default: JSON).
            name: the operation name.
            config: payload and result serdes, tenant id.

        Returns:
            The invoked function's result, deserialized with `config.serdes_result`
            (default: JSON).

        Raises:
            InvokeError: the invoked function failed, timed out or was stopped (or does not exist).
        """
        validate_name("operation name", name)
        identity = self.new_identity(
            OperationType.CHAINED_INVOKE, OperationSubType.CHAINED_INVOKE.value, name
        )
        operation = InvokeOperation(function_name, payload, config or InvokeConfig(), self.state, identity)
        return self._run_operation(operation)


def durable_step(
    func: Callable[Concatenate[StepContext, P], T],
) -> Callable[P, Callable[[StepContext], T]]:
    """Turn ``func(step_context, *args, **kwargs)`` into a factory of named step bodies.

    ``ctx.step(charge(order_id))`` then runs ``charge`` as a step named ``"charge"``.
    """

    def bind(*args: P.args, **kwargs: P.kwargs) -> Callable[[StepContext], T]:
        def function_with_arguments(step_context: StepContext) -> T:
            return func(step_context, *args, **kwargs)

        function_with_arguments._original_name = func.__name__  # type: ignore[attr-defined]
        return function_with_arguments

    return bind


def durable_with_child_context(
    func: Callable[Concatenate[DurableContext, P], T],
) -> Callable[P, Callable[[DurableContext], T]]:
    """Turn ``func(child_context, *args, **kwargs)`` into a factory of named child bodies."""

    def bind(*args: P.args, **kwargs: P.kwargs) -> Callable[[DurableContext], T]:
        def function_with_arguments(child_context: DurableContext) -> T:
            return func(child_context, *args, **kwargs)

        function_with_arguments._original_name = func.__name__  # type: ignore[attr-defined]
        return function_with_arguments

    return bind


def durable_wait_for_callback(
    func: Callable[Concatenate[str, WaitForCallbackContext, P], T],
) -> Callable[P, Callable[[str, WaitForCallbackContext], T]]:
    """Turn ``func(callback_id, context, *args, **kwargs)`` into a factory of named submitters."""

    def bind(*args: P.args, **kwargs: P.kwargs) -> Callable[[str, WaitForCallbackContext], T]:
        def submitter(callback_id: str, context: WaitForCallbackContext) -> T:
            return func(callback_id, context, *args, **kwargs)

        submitter._original_name = func.__name__  # type: ignore[attr-defined]
        return submitter

    return bind


__all__ = [
    "Callback",
    "DurableContext",
    "ExecutionContext",
    "OperationStatus",
    "StepContext",
    "durable_step",
    "durable_wait_for_callback",
    "durable_with_child_context",
]
