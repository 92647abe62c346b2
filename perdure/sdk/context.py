"""`DurableContext`: the object a durable handler receives, and the step decorators.

Thin by design: each public method has the operation's module build one operation object
(validated, its deterministic id taken: `perdure.sdk.operations.*`) and runs it inside the
replay-status boundary; `AsyncDurableContext` (`perdure.sdk.aio`) builds the same objects
and awaits them. Also owns the decorators `durable_step`,
`durable_with_child_context` and `durable_wait_for_callback`.
Imports only `perdure.wire`, the other `perdure.sdk` modules and the standard library.

Replay status is tracked per context: see `perdure.sdk.scope`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from perdure.wire.types import OperationStatus

from .batch import BatchResult, BatchType
from .completion import MapConfig, ParallelBranch, ParallelConfig
from .concurrency import ConcurrentExecutor
from .config import CallbackConfig, ChildConfig, Duration, InvokeConfig, StepConfig, WaitForCallbackConfig
from .errors import DurableUsageError
from .operations._base import OperationExecutor
from .operations._batch import BatchRun, replay_batch
from .operations.callback import Callback, callback_operation
from .operations.child_context import child_operation
from .operations.invoke import invoke_operation
from .operations.map import DEFAULT_MAP_CONFIG, map_branches
from .operations.parallel import DEFAULT_PARALLEL_CONFIG, parallel_branches
from .operations.step import step_operation
from .operations.wait import wait_operation
from .operations.wait_for_callback import (
    Submitter,
    translate_errors,
    wait_for_callback_body,
    wait_for_callback_operation,
)
from .operations.wait_for_condition import wait_for_condition_operation
from .scope import ContextScope
from .types import ExecutionContext, StepContext, WaitForCallbackContext, WaitForConditionCheckContext
from .waits import WaitForConditionConfig

T = TypeVar("T")
U = TypeVar("U")
PayloadT = TypeVar("PayloadT")
ResultT = TypeVar("ResultT")
P = ParamSpec("P")


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
        """Run `executor` inside the replay-status boundary of this context, as the one
        operation it is running (see `ContextScope.new_identity`)."""
        running, self._running = self._running, executor.identity
        try:
            if not self._replaying:
                return executor.process()
            flip_after = self.enter(executor.identity)
            try:
                return executor.process()
            finally:
                self.leave(flip_after)
        finally:
            self._running = running  # None, unless a misuse from another thread got this far

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
        if is_async_callable(func):
            raise DurableUsageError(
                f"step {name or getattr(func, '_original_name', None) or ''} got an async function; the sync face "
                "(DurableContext) runs sync step bodies: make the handler `async def` to use AsyncDurableContext"
            )
        return self._run_operation(step_operation(self, func, name, config))

    def wait(self, duration: Duration | timedelta, name: str | None = None) -> None:
        """Suspend the execution for `duration` (the function is re-invoked afterwards).

        Args:
            duration: a `Duration` or a `datetime.timedelta` (whole seconds), between 1
                second and 31,622,400 seconds (366 days).
            name: the operation name.

        Raises:
            ValidationError: the duration is out of range.
        """
        self._run_operation(wait_operation(self, duration, name))

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
        if is_async_callable(func):
            raise DurableUsageError(
                f"run_in_child_context {name or getattr(func, '_original_name', None) or ''} got an async "
                "function; the sync face (DurableContext) runs sync bodies: make the handler `async def`"
            )
        return self._run_operation(child_operation(self, func, name, config))

    # map/parallel: the batch machinery lives in operations/parallel.py, operations/map.py,
    # operations/_batch.py (shared by both faces) and concurrency.py (this face's threads).
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
        branches = parallel_branches(functions)
        return self._batch(
            BatchRun(self, BatchType.PARALLEL, name, branches, config or DEFAULT_PARALLEL_CONFIG)
        )

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
        name = name or getattr(func, "_original_name", None)
        active: MapConfig[U] = config if config is not None else DEFAULT_MAP_CONFIG
        return self._batch(BatchRun(self, BatchType.MAP, name, map_branches(inputs, func, active), active))

    def _batch(self, batch: BatchRun) -> BatchResult[Any]:
        """Run a prepared map or parallel: its branches on the batch's threads."""

        def body() -> BatchResult[Any]:
            record = batch.replay_record()
            if record is not None:
                return replay_batch(batch.runner, record, batch.completion)
            return ConcurrentExecutor(batch.runner, batch.completion, batch.max_concurrency).execute()

        return batch.checked(self._run_operation(batch.operation(body)))

    def create_callback(self, name: str | None = None, config: CallbackConfig | None = None) -> Callback[Any]:
        """Create a callback an external system completes (success, failure, heartbeats).

        Args:
            name: the operation name.
            config: timeout, heartbeat timeout (0 = none), the result's serdes, sub-type.

        Returns:
            A `Callback`: hand out `callback_id`, then `result()` waits for the outcome.
            Never raises for the callback's outcome; `result()` does.
        """
        return self._run_operation(callback_operation(self, name, config))

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

        def body(child: DurableContext) -> Any:
            return wait_for_callback_body(child, submitter, name, config)

        operation = wait_for_callback_operation(self, body, name, submitter)
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
        return self._run_operation(wait_for_condition_operation(self, check, config, name))

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
        return self._run_operation(invoke_operation(self, function_name, payload, name, config))


def durable_step(
    func: Callable[Concatenate[StepContext, P], T],
) -> Callable[P, Callable[[StepContext], T]]:
    """Turn ``func(step_context, *args, **kwargs)`` into a factory of named step bodies.

    ``ctx.step(charge(order_id))`` then runs ``charge`` as a step named ``"charge"``.
    Works on an ``async def`` too (for `AsyncDurableContext.step`).
    """

    def bind(*args: P.args, **kwargs: P.kwargs) -> Callable[[StepContext], T]:
        check(args, kwargs)

        def function_with_arguments(step_context: StepContext) -> T:
            return func(step_context, *args, **kwargs)

        function_with_arguments._original_name = func.__name__  # type: ignore[attr-defined]
        function_with_arguments._is_async = is_async  # type: ignore[attr-defined]
        function_with_arguments.__wrapped__ = func  # type: ignore[attr-defined]  # its declared result type
        return function_with_arguments

    is_async = inspect.iscoroutinefunction(func)
    check = _arguments_check(func, "durable_step", 1)
    bind._factory_of = ("durable_step", func.__name__)  # type: ignore[attr-defined]  # see refuse_factory
    return bind


def durable_with_child_context(
    func: Callable[Concatenate[DurableContext, P], T],
) -> Callable[P, Callable[[DurableContext], T]]:
    """Turn ``func(child_context, *args, **kwargs)`` into a factory of named child bodies."""

    def bind(*args: P.args, **kwargs: P.kwargs) -> Callable[[DurableContext], T]:
        check(args, kwargs)

        def function_with_arguments(child_context: DurableContext) -> T:
            return func(child_context, *args, **kwargs)

        function_with_arguments._original_name = func.__name__  # type: ignore[attr-defined]
        function_with_arguments._is_async = is_async  # type: ignore[attr-defined]
        function_with_arguments.__wrapped__ = func  # type: ignore[attr-defined]  # its declared result type
        return function_with_arguments

    is_async = inspect.iscoroutinefunction(func)
    check = _arguments_check(func, "durable_with_child_context", 1)
    bind._factory_of = ("durable_with_child_context", func.__name__)  # type: ignore[attr-defined]  # see refuse_factory
    return bind


def durable_wait_for_callback(
    func: Callable[Concatenate[str, WaitForCallbackContext, P], T],
) -> Callable[P, Callable[[str, WaitForCallbackContext], T]]:
    """Turn ``func(callback_id, context, *args, **kwargs)`` into a factory of named submitters."""

    def bind(*args: P.args, **kwargs: P.kwargs) -> Callable[[str, WaitForCallbackContext], T]:
        check(args, kwargs)

        def submitter(callback_id: str, context: WaitForCallbackContext) -> T:
            return func(callback_id, context, *args, **kwargs)

        submitter._original_name = func.__name__  # type: ignore[attr-defined]
        submitter._is_async = is_async  # type: ignore[attr-defined]
        return submitter

    is_async = inspect.iscoroutinefunction(func)
    check = _arguments_check(func, "durable_wait_for_callback", 2)
    bind._factory_of = ("durable_wait_for_callback", func.__name__)  # type: ignore[attr-defined]  # see refuse_factory
    return bind


def _arguments_check(
    func: Callable[..., Any], decorator: str, leading: int
) -> Callable[[tuple[Any, ...], dict[str, Any]], None]:
    """What a decorator's factory runs on its arguments: they must fit `func` after its
    `leading` parameters (the context the operation passes), or the factory's call raises
    `TypeError` at once, where the mistake is, instead of every attempt of the operation.

    A function whose signature cannot be read is not checked.
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return lambda args, kwargs: None
    placeholders = (None,) * leading
    parameters = list(signature.parameters.values())
    plain = all(p.kind is p.POSITIONAL_OR_KEYWORD and p.default is p.empty for p in parameters)
    # With only required positional-or-keyword parameters, exactly that many positional
    # arguments fit, known without `Signature.bind` (2.8 µs a call; this test, 0.1 µs).
    fits = len(parameters) - leading if plain else -1

    def check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not kwargs and len(args) == fits:
            return
        try:
            signature.bind(*placeholders, *args, **kwargs)
        except TypeError as exc:
            shown = ", ".join(list(signature.parameters)[leading:])
            raise TypeError(
                f"@{decorator} {func.__name__}({shown}) cannot take these arguments: {exc}"
            ) from None

    return check


def is_async_callable(func: object) -> bool:
    """Whether calling `func` gives a coroutine: an `async def`, or a body that one of the
    decorators (`durable_step`, ...) bound from an `async def`."""
    code = getattr(func, "__code__", None)
    if code is not None:  # a plain function: read its flags (the common, fast case)
        return bool(code.co_flags & _CO_COROUTINE) or getattr(func, "_is_async", False) is True
    return getattr(func, "_is_async", False) is True or inspect.iscoroutinefunction(func)


_CO_COROUTINE = inspect.CO_COROUTINE


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
