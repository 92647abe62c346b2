"""`durable_execution`: turns a durable handler into an AWS Lambda handler.

Owns the handler contract (docs/contracts.md): parse the invocation input
(the Lambda event dict with epoch-millisecond timestamps, an `InvocationInput`, an
`InvocationInputWithClient` carrying its own service client, or the official SDK's
in-process input with its client, `perdure.sdk.official_input`), load the replay state, and
hand the handler to an `Invocation` (`perdure.sdk.invocation`), which owns the checkpoint
writer and turns the handler's value or exception into the invocation output dict.
A sync handler runs on the calling thread with a `DurableContext`; an `async def` handler
runs on the process's event loop with an `AsyncDurableContext` (`perdure.sdk.aio`), and
the decorated function is still the sync ``handler(event, lambda_context)`` Lambda calls.

Instrumentation plugins: the factories are resolved once, when the handler is decorated
(`perdure.sdk.plugin_discovery`); each invocation gets its own `PluginDispatcher`, hung on
the state, which runs `on_invocation_start` before the handler and `on_invocation_end`
after the checkpoint writer has stopped.

Imports only `perdure.wire`, the other `perdure.sdk` modules and the standard library
(`perdure.sdk.aws`, which imports boto3 lazily, only when an AWS event arrives).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

from perdure.wire.codec import from_wire
from perdure.wire.fast_init import value_type
from perdure.wire.service import DurableServiceClient
from perdure.wire.types import InvocationInput, InvocationStatus

from .batcher import BatcherLimits
from .clock import SYSTEM_CLOCK, Clock
from .context import DurableContext
from .errors import ExecutionError, GetExecutionStateError, error_object_from_exception
from .invocation import Invocation, output
from .plugin import (
    NO_PLUGINS,
    DurableInstrumentationPlugin,
    DurableInstrumentationPluginFactory,
    PluginDispatcher,
)
from .plugin_discovery import load_configured_plugins
from .state import ExecutionState, ReplayStatus

T = TypeVar("T")

Handler = Callable[[Any, Any], Any]
"""``handler(event, context)``: sync with a `DurableContext`, or `async def` with an
`AsyncDurableContext`."""
LambdaHandler = Callable[..., dict[str, Any]]


@value_type(slots=False)
class InvocationInputWithClient:
    """An invocation that brings its own service client (the in-process link, tests).

    Attributes:
        input: the invocation input.
        client: the durable-execution service to checkpoint with.
    """

    input: InvocationInput
    client: DurableServiceClient
    clock: Clock = SYSTEM_CLOCK
    """Where the SDK reads the time during this invocation (tests give a fixed or skewed one)."""
    plugins: tuple[DurableInstrumentationPluginFactory, ...] = ()
    """Plugin factories added for this invocation after the handler's own: how a tool in the
    same process observes the run (`perdure run`'s live lines)."""


PluginFactories = Sequence[DurableInstrumentationPluginFactory | DurableInstrumentationPlugin] | None
"""Factories (3.0), or plugin instances each invocation shares (the shape before 3.0)."""


@overload
def durable_execution(
    func: Handler, *, boto3_client: Any = None, plugins: PluginFactories = None
) -> LambdaHandler: ...


@overload
def durable_execution(
    func: None = None, *, boto3_client: Any = None, plugins: PluginFactories = None
) -> Callable[[Handler], LambdaHandler]: ...


def durable_execution(
    func: Handler | None = None,
    *,
    boto3_client: Any = None,
    plugins: PluginFactories = None,
) -> LambdaHandler | Callable[[Handler], LambdaHandler]:
    """Make ``func(event, context: DurableContext)`` a durable Lambda handler.

    Usable bare (``@durable_execution``) or with options (``@durable_execution(...)``).

    Args:
        func: the durable handler.
        boto3_client: the boto3 Lambda client for AWS events (default: created lazily).
        plugins: instrumentation plugin factories (objects with ``create_plugin(info)``);
            those named in `DURABLE_EXECUTION_PLUGINS` follow them. A plugin instance is
            accepted too, as before 3.0: every invocation shares it, one at a time.

    Returns:
        ``lambda_handler(event, lambda_context) -> dict``, the invocation output.

    Raises:
        PluginLoadError: a plugin factory is missing, ambiguous or wrongly shaped.
    """
    factories = load_configured_plugins(plugins)

    def decorate(handler: Handler) -> LambdaHandler:
        if is_async_handler(handler):
            # The asyncio face loads with the handler it serves, as Lambda's init phase runs
            # the module (ahead of the first request with provisioned concurrency), not in
            # the first invocation; `import perdure` alone still does not load it.
            from . import aio  # noqa: F401

        @functools.wraps(handler)
        def lambda_handler(event: Any, lambda_context: Any = None) -> dict[str, Any]:
            return run_invocation(
                handler, event, lambda_context, boto3_client=boto3_client, plugins=factories
            )

        return lambda_handler

    if func is None:
        return decorate
    return decorate(func)


# ---------------------------------------------------------------------------- input


def parse_event(event: Any, boto3_client: Any = None) -> tuple[InvocationInput, DurableServiceClient, Clock]:
    """The invocation input, the client to checkpoint with and the clock.

    Raises:
        ExecutionError: naming what is wrong with a malformed input.
    """
    if isinstance(event, InvocationInputWithClient):
        return event.input, event.client, event.clock
    official_client: DurableServiceClient | None = None
    if isinstance(event, InvocationInput):
        invocation = event
    elif isinstance(event, dict):
        try:
            invocation = from_wire(InvocationInput, event, timestamps="epoch_millis", path="invocation input")
        except ValueError as exc:
            raise ExecutionError(f"malformed durable invocation input: {exc}") from None
    elif hasattr(event, "service_client"):  # the official testing library's in-process runner
        from .official_input import from_official_input

        try:
            invocation, official_client = from_official_input(event)
        except (ValueError, TypeError, AttributeError) as exc:
            raise ExecutionError(f"malformed durable invocation input: {exc}") from None
    else:
        raise ExecutionError(
            f"malformed durable invocation input: expected the durable-execution event object, "
            f"got {type(event).__name__}"
        )
    if official_client is not None:
        return invocation, official_client, SYSTEM_CLOCK
    from .aws import LambdaDurableServiceClient

    client = (
        LambdaDurableServiceClient(boto3_client)
        if boto3_client is not None
        else LambdaDurableServiceClient.default()
    )
    return invocation, client, SYSTEM_CLOCK


def _user_input(state: ExecutionState) -> Any:
    op = state.execution_operation()
    # No EXECUTION operation: the handler gets `{}`, as the official SDK gives it.
    payload = op.execution_details.input_payload if op is not None and op.execution_details else None
    if not payload or not payload.strip():
        return {}
    try:
        return json.loads(payload)
    except json.JSONDecodeError as exc:
        raise ExecutionError(f"the execution input is not valid JSON: {exc}") from None


# --------------------------------------------------------------------- invocation


def run_invocation(
    handler: Handler,
    event: Any,
    lambda_context: Any = None,
    *,
    boto3_client: Any = None,
    limits: BatcherLimits | None = None,
    plugins: Sequence[DurableInstrumentationPluginFactory] = (),
) -> dict[str, Any]:
    """Run one invocation of `handler` (sync or `async def`) and return the output dict.

    Raises:
        ExecutionError: the invocation input is malformed.
        InvocationError: a retryable service failure (the service retries the invocation).
    """
    invocation, client, clock = parse_event(event, boto3_client)
    arn = invocation.durable_execution_arn
    if isinstance(event, InvocationInputWithClient) and event.plugins:
        plugins = (*plugins, *event.plugins)
    # A null token is read as the official SDK reads it: the invocation runs, and its first
    # service call fails (retryably) for want of a token.
    token = invocation.checkpoint_token or ""
    dispatcher = PluginDispatcher(plugins) if plugins else NO_PLUGINS
    try:
        state = ExecutionState.load(
            arn,
            invocation.initial_execution_state,
            client,
            token,
            clock=clock,
            plugins=dispatcher,
        )
    except GetExecutionStateError as exc:
        if exc.is_retryable():
            raise
        return output(InvocationStatus.FAILED, error=error_object_from_exception(exc))
    try:
        user_input = _user_input(state)
    except ExecutionError as exc:
        return output(InvocationStatus.FAILED, error=error_object_from_exception(exc))

    try:
        dispatcher.invocation_started(
            execution_arn=arn,
            operations=state.operations,
            updated_operation_ids=invocation.updated_operation_ids,
            execution_input=user_input,
            lambda_context=lambda_context,
        )
        replay = ReplayStatus.REPLAY if state.has_replay_operations() else ReplayStatus.NEW
        with Invocation(state, client, token, limits) as runtime:
            if is_async_handler(handler):
                from .aio import run_async_handler  # the asyncio face loads only for async handlers

                runtime.run(lambda: run_async_handler(handler, user_input, runtime, lambda_context, replay))
            else:
                runtime.run(
                    lambda: handler(
                        user_input, DurableContext.from_lambda_context(state, lambda_context, replay)
                    )
                )
        result = runtime.output()
    except BaseException as exc:
        dispatcher.invocation_raised(exc)
        raise
    dispatcher.invocation_ended(result)
    return result


def is_async_handler(handler: Callable[..., Any]) -> bool:
    """Whether `handler` is an `async def` (also behind `functools.partial` or a method)."""
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - a callable object's async __call__
    )
