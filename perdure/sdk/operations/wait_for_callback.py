"""wait_for_callback: create a callback, hand its id to a submitter step, wait for the result.

Owns the body the WaitForCallback child context runs and the error translation around
it (as in the official SDK 3.0). Inside a CONTEXT with sub-type WaitForCallback:
1. a CALLBACK named ``"{name} create callback id"`` (``"create callback id"`` unnamed),
   with the config's timeouts and serdes;
2. a STEP named ``"{name} submitter"`` that calls ``submitter(callback_id,
   WaitForCallbackContext)``, retried by the config's retry strategy;
3. the callback's result (suspending until there is one).
The child context fails with the inner error, and the caller gets: a `CallbackError`
(external failure, timeout) re-raised as it is; a failed submitter (`StepError`) as
`CallbackSubmitterError`. The same records give the same error on every replay.

Imports only `perdure.sdk` modules below the context and the standard library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from perdure.wire.types import OperationSubType, OperationType

from ..config import CallbackConfig, ChildConfig, StepConfig, WaitForCallbackConfig
from ..errors import CallbackError, CallbackSubmitterError, ChildContextError, StepError
from ..types import StepContext, WaitForCallbackContext
from ._base import Scope, refuse_factory, validate_name
from .callback import Callback
from .child_context import ChildContextOperation

T = TypeVar("T")

Submitter = Callable[[str, WaitForCallbackContext], Any]


class CallbackHost(Protocol):
    """The two context operations the body uses (a `DurableContext` has them)."""

    def create_callback(
        self, name: str | None = None, config: CallbackConfig | None = None
    ) -> Callback[Any]: ...

    def step(
        self, func: Callable[[StepContext], T], name: str | None = None, config: StepConfig | None = None
    ) -> T: ...


def wait_for_callback_body(
    context: CallbackHost, submitter: Submitter, name: str | None, config: WaitForCallbackConfig | None
) -> Any:
    """What the WaitForCallback child context runs (see the module docstring)."""
    prefix = f"{name} " if name else ""
    callback = context.create_callback(name=f"{prefix}create callback id", config=config)

    def submit(step_context: StepContext) -> Any:
        return submitter(callback.callback_id, WaitForCallbackContext(logger=step_context.logger))

    step_config = (
        StepConfig(retry_strategy=config.retry_strategy, serdes=config.serdes) if config is not None else None
    )
    context.step(submit, name=f"{prefix}submitter", config=step_config)
    return callback.result()


def translated(error: ChildContextError) -> BaseException:
    """The error the caller of wait_for_callback gets for its failed child context.

    A `CallbackError` (failed or timed out, as recorded) is raised as it is; a failed
    submitter (`StepError`) as `CallbackSubmitterError` with the `StepError` as its cause;
    anything else that failed inside as the `ChildContextError` itself.
    """
    inner = error.__cause__
    if isinstance(inner, CallbackError):
        inner.__cause__ = None
        inner.__suppress_context__ = True
        return inner
    if isinstance(inner, StepError):
        submitter = CallbackSubmitterError(
            inner.message or "Callback submitter failed", data=inner.data, stack_trace=inner.stack_trace
        )
        submitter.__cause__ = inner
        return submitter
    return error


def translate_errors(run: Callable[[], T]) -> T:
    """Run the child context; raise `translated` of its `ChildContextError`."""
    try:
        return run()
    except ChildContextError as exc:
        error = translated(exc)
        if error is exc:
            raise
        raise error from error.__cause__


def wait_for_callback_operation(
    scope: Scope, body: Callable[[Any], Any], name: str | None, submitter: object
) -> ChildContextOperation[Any]:
    """The WaitForCallback child context of `context.wait_for_callback` (its id taken now);
    `body(child_context)` is the face's `wait_for_callback_body`, which runs `submitter`.

    Raises:
        ValidationError: the name is invalid.
        DurableUsageError: `submitter` is a `@durable_wait_for_callback` function, not called.
    """
    refuse_factory("wait_for_callback", submitter)
    validate_name("operation name", name)
    identity = scope.new_identity(OperationType.CONTEXT, OperationSubType.WAIT_FOR_CALLBACK.value, name)
    child_id = identity.operation_id

    def run() -> Any:
        return body(scope.create_child_context(child_id))

    return ChildContextOperation(run, ChildConfig(), scope.state, identity)
