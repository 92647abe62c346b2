"""wait_for_callback: create a callback, hand its id to a submitter step, wait for the result.

Owns the body the WaitForCallback child context runs and the error translation around
it (official SDK 3.0, research 01 §1.2). Inside a CONTEXT with sub-type WaitForCallback:
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

from ..config import CallbackConfig, StepConfig, WaitForCallbackConfig
from ..errors import CallbackError, CallbackSubmitterError, ChildContextError, StepError
from ..types import StepContext, WaitForCallbackContext
from .callback import Callback

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


def translate_errors(run: Callable[[], T]) -> T:
    """Run the child context; turn its `ChildContextError` into the callback error it wraps.

    Raises:
        CallbackError: the callback failed or timed out (as recorded).
        CallbackSubmitterError: the submitter step failed; the `StepError` is its cause.
        ChildContextError: anything else that failed inside.
    """
    try:
        return run()
    except ChildContextError as exc:
        inner = exc.__cause__
        if isinstance(inner, CallbackError):
            raise inner from None
        if isinstance(inner, StepError):
            raise CallbackSubmitterError(
                inner.message or "Callback submitter failed", data=inner.data, stack_trace=inner.stack_trace
            ) from inner
        raise
