"""`durable_execution`: turns a durable handler into an AWS Lambda handler.

Owns the handler contract (docs/contracts.md, official SDK §2): parse the invocation input
(the Lambda event dict with epoch-millisecond timestamps, an `InvocationInput`, or an
`InvocationInputWithClient` carrying its own service client), load the replay state,
run ``handler(input, ctx)`` on the calling thread with the checkpoint writer on its own
thread, and return the invocation output dict:

- the handler returns `v` -> SUCCEEDED with ``json.dumps(v)`` (over 6 MiB: an EXECUTION
  SUCCEED update carries it and ``Result`` is ""; the service bounds its size);
- `SuspendExecution`, or a revoked checkpoint token -> PENDING;
- `ExecutionError` (non-determinism included) or any other exception -> FAILED + Error;
- a retryable `InvocationError` (e.g. a failed checkpoint that may succeed later) is
  raised, so the service retries the invocation.

Instrumentation plugins: the factories are resolved once, when the handler is decorated
(`perdure.sdk.plugin_discovery`); each invocation gets its own `PluginDispatcher`, hung on
the state, which runs `on_invocation_start` before the handler and `on_invocation_end`
after the checkpoint writer has stopped.

Imports only `perdure.wire`, the other `perdure.sdk` modules and the standard library
(`perdure.sdk.aws`, which imports boto3 lazily, only when an AWS event arrives).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from perdure.wire.codec import from_wire, to_wire
from perdure.wire.limits import MAX_RESPONSE_BYTES
from perdure.wire.service import DurableServiceClient
from perdure.wire.types import (
    ARN_PATTERN,
    ErrorObject,
    InvocationInput,
    InvocationOutput,
    InvocationStatus,
    OperationAction,
    OperationType,
    OperationUpdate,
)

from .batcher import BatcherLimits, CheckpointBatcher
from .context import DurableContext
from .errors import (
    BackgroundThreadError,
    ExecutionError,
    GetExecutionStateError,
    InvocationError,
    OrphanedChildException,
    SuspendExecution,
    error_object_from_exception,
)
from .plugin import NO_PLUGINS, DurableInstrumentationPluginFactory, PluginDispatcher
from .plugin_discovery import load_configured_plugins
from .state import ExecutionState, ReplayStatus

T = TypeVar("T")

RESPONSE_LIMIT_CHARS = MAX_RESPONSE_BYTES - 50
"""Results longer than this go through an EXECUTION update (the official threshold)."""

Handler = Callable[[Any, DurableContext], Any]
LambdaHandler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class InvocationInputWithClient:
    """An invocation that brings its own service client (the in-process link, tests).

    Attributes:
        input: the invocation input.
        client: the durable-execution service to checkpoint with.
    """

    input: InvocationInput
    client: DurableServiceClient


PluginFactories = list[DurableInstrumentationPluginFactory] | None


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
            those named in `DURABLE_EXECUTION_PLUGINS` follow them.

    Returns:
        ``lambda_handler(event, lambda_context) -> dict``, the invocation output.

    Raises:
        PluginLoadError: a plugin factory is missing, ambiguous or wrongly shaped.
    """
    factories = load_configured_plugins(plugins)

    def decorate(handler: Handler) -> LambdaHandler:
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


def parse_event(event: Any, boto3_client: Any = None) -> tuple[InvocationInput, DurableServiceClient]:
    """The invocation input and the client to checkpoint with.

    Raises:
        ExecutionError: naming what is wrong with a malformed input.
    """
    if isinstance(event, InvocationInputWithClient):
        return event.input, event.client
    if isinstance(event, InvocationInput):
        invocation = event
    elif isinstance(event, dict):
        try:
            invocation = from_wire(InvocationInput, event, timestamps="epoch_millis", path="invocation input")
        except ValueError as exc:
            raise ExecutionError(f"malformed durable invocation input: {exc}") from None
    else:
        raise ExecutionError(
            f"malformed durable invocation input: expected the durable-execution event object, "
            f"got {type(event).__name__}"
        )
    if ARN_PATTERN.fullmatch(invocation.durable_execution_arn) is None:
        raise ExecutionError(
            "malformed durable invocation input: DurableExecutionArn "
            f"{invocation.durable_execution_arn!r} is not a durable execution ARN"
        )
    from .aws import LambdaDurableServiceClient

    client = (
        LambdaDurableServiceClient(boto3_client)
        if boto3_client is not None
        else LambdaDurableServiceClient.default()
    )
    return invocation, client


def _user_input(state: ExecutionState) -> Any:
    op = state.execution_operation()
    if op is None:
        raise ExecutionError(
            f"malformed durable invocation input: no EXECUTION operation for {state.durable_execution_arn}"
        )
    payload = op.execution_details.input_payload if op.execution_details else None
    if not payload or not payload.strip():
        return {}
    try:
        return json.loads(payload)
    except json.JSONDecodeError as exc:
        raise ExecutionError(f"the execution input is not valid JSON: {exc}") from None


# --------------------------------------------------------------------------- output


def _output(
    status: InvocationStatus, result: str | None = None, error: ErrorObject | None = None
) -> dict[str, Any]:
    return to_wire(InvocationOutput(status=status, result=result, error=error), timestamps="epoch_millis")


def _execution_update(action: OperationAction, **fields: Any) -> OperationUpdate:
    return OperationUpdate(
        id=f"execution-result-{int(time.time() * 1000)}",
        type=OperationType.EXECUTION,
        action=action,
        **fields,
    )


def _succeeded(result: Any, state: ExecutionState) -> dict[str, Any]:
    try:
        serialized = json.dumps(result)
    except (TypeError, ValueError) as exc:
        return _output(InvocationStatus.FAILED, error=error_object_from_exception(exc))
    if len(serialized) > RESPONSE_LIMIT_CHARS:
        # Issue 4 (large-payloads helper): no SDK-side bound here, the service decides. The
        # engine stores the whole result (DECISIONS §3; a 10 MiB result round-trips); AWS
        # refuses a Payload over 6,291,456 with InvalidParameterValueException, which fails
        # the execution without a retry.
        state.create_checkpoint(_execution_update(OperationAction.SUCCEED, payload=serialized))
        return _output(InvocationStatus.SUCCEEDED, result="")
    return _output(InvocationStatus.SUCCEEDED, result=serialized)


def _failed(error: BaseException, state: ExecutionState) -> dict[str, Any]:
    record = error_object_from_exception(error)
    size = sum(len(part or "") for part in (record.error_message, record.error_type, record.error_data))
    if size > RESPONSE_LIMIT_CHARS:
        state.create_checkpoint(_execution_update(OperationAction.FAIL, error=record))
        return _output(InvocationStatus.FAILED)
    return _output(InvocationStatus.FAILED, error=record)


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
    """Run one invocation of `handler` and return the invocation output dict.

    Raises:
        ExecutionError: the invocation input is malformed.
        InvocationError: a retryable service failure (the service retries the invocation).
    """
    invocation, client = parse_event(event, boto3_client)
    arn = invocation.durable_execution_arn
    try:
        state = ExecutionState.load(
            arn, invocation.initial_execution_state, client, invocation.checkpoint_token
        )
    except GetExecutionStateError as exc:
        if exc.is_retryable():
            raise
        return _output(InvocationStatus.FAILED, error=error_object_from_exception(exc))
    try:
        user_input = _user_input(state)
    except ExecutionError as exc:
        return _output(InvocationStatus.FAILED, error=error_object_from_exception(exc))

    dispatcher = PluginDispatcher(plugins) if plugins else NO_PLUGINS
    state.plugins = dispatcher
    try:
        dispatcher.invocation_started(
            execution_arn=arn,
            operations=state.operations,
            updated_operation_ids=invocation.updated_operation_ids,
            execution_input=user_input,
            lambda_context=lambda_context,
        )
        output = _run_handler(handler, user_input, state, client, invocation, lambda_context, limits)
    except BaseException as exc:
        dispatcher.invocation_raised(exc)
        raise
    dispatcher.invocation_ended(output)
    return output


def _run_handler(
    handler: Handler,
    user_input: Any,
    state: ExecutionState,
    client: DurableServiceClient,
    invocation: InvocationInput,
    lambda_context: Any,
    limits: BatcherLimits | None,
) -> dict[str, Any]:
    """Run the handler with a checkpoint writer; the output dict, or raise to retry."""
    batcher = CheckpointBatcher(client, state, invocation.checkpoint_token, limits).start()
    state.checkpointer = batcher
    replay = ReplayStatus.REPLAY if state.has_replay_operations() else ReplayStatus.NEW
    context = DurableContext.from_lambda_context(state, lambda_context, replay)
    retry_invocation: BaseException | None = None
    try:
        try:
            output = _succeeded(handler(user_input, context), state)
        except SuspendExecution:
            output = _output(InvocationStatus.PENDING)
        except BackgroundThreadError as exc:
            source = exc.source_exception
            if isinstance(source, InvocationError) and source.is_retryable():
                retry_invocation = source
                output = {}
            else:
                output = _failed(source, state)
        except InvocationError as exc:
            if exc.is_retryable():
                retry_invocation = exc
                output = {}
            else:
                output = _failed(exc, state)
        except OrphanedChildException as exc:
            output = _failed(
                ExecutionError(f"operation {exc.operation_id} ran after its context completed"), state
            )
        except Exception as exc:
            output = _failed(exc, state)
    except BackgroundThreadError as exc:
        # The large-result EXECUTION update itself failed.
        source = exc.source_exception
        if isinstance(source, InvocationError) and source.is_retryable():
            retry_invocation = source
        output = _output(InvocationStatus.FAILED, error=error_object_from_exception(source))
    except SuspendExecution:
        output = _output(InvocationStatus.PENDING)
    finally:
        try:
            state.run_close_hooks()
        finally:
            batcher.close()
    if batcher.revoked:
        return _output(InvocationStatus.PENDING)
    if retry_invocation is None and batcher.failure is not None:
        # An async update failed after the handler's last sync checkpoint.
        source = batcher.failure.source_exception
        if isinstance(source, InvocationError) and source.is_retryable():
            retry_invocation = source
        else:
            output = _output(InvocationStatus.FAILED, error=error_object_from_exception(source))
    if retry_invocation is not None:
        raise retry_invocation
    return output
