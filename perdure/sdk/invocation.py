"""`Invocation`: the one owner of a handler invocation, whichever face runs the handler.

Owns, for one invocation: the replay state (with its plugin dispatcher and clock), the
checkpoint writer (started on entry), the cleanup (one exit stack: work such as joining a
batch's threads runs before the writer stops), and the one function that turns the
handler's value or exception into the invocation output (`Invocation.run`/`output`). A face only supplies the call
that runs the handler: the sync face calls it on this thread, the async face runs it on
the process's event loop and returns its value or raises its exception here.

Outcomes (docs/contracts.md):
- a value -> SUCCEEDED with ``json.dumps(v)`` (over 6 MiB: an EXECUTION SUCCEED update
  carries it and ``Result`` is "");
- `SuspendExecution` (alone or inside an exception group), or a revoked checkpoint token
  -> PENDING;
- a retryable invocation error (`retryable_invocation_error`) -> raised, so the service
  retries the invocation;
- any other `Exception` -> FAILED with its error object.

Imports only `perdure.wire`, `perdure.sdk` modules below the contexts and the stdlib.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from perdure.wire.codec import to_wire
from perdure.wire.limits import MAX_RESPONSE_BYTES
from perdure.wire.service import DurableServiceClient
from perdure.wire.types import (
    ErrorObject,
    InvocationOutput,
    InvocationStatus,
    OperationAction,
    OperationType,
    OperationUpdate,
)

from .batcher import BatcherLimits, CheckpointBatcher
from .errors import (
    BackgroundThreadError,
    DurableUsageError,
    ExecutionError,
    OrphanedChildException,
    SuspendExecution,
    error_object_from_exception,
    retryable_invocation_error,
)
from .state import ExecutionState

if TYPE_CHECKING:
    import asyncio

RESPONSE_LIMIT_CHARS = MAX_RESPONSE_BYTES - 50
"""Results longer than this go through an EXECUTION update (the official threshold)."""


def output(
    status: InvocationStatus, result: str | None = None, error: ErrorObject | None = None
) -> dict[str, Any]:
    """The invocation output dict (the Lambda response)."""
    return to_wire(InvocationOutput(status=status, result=result, error=error), timestamps="epoch_millis")


def is_suspension(error: BaseException) -> bool:
    """Whether `error` suspends the invocation (alone, or inside an exception group)."""
    if isinstance(error, SuspendExecution):
        return True
    return isinstance(error, BaseExceptionGroup) and error.subgroup(SuspendExecution) is not None


class Invocation:
    """One invocation of a handler, as a context manager (see the module docstring).

        with Invocation(state, client, token) as invocation:
            invocation.run(call)
        return invocation.output()

    Entering starts the checkpoint writer; `run` calls the handler and classifies its
    outcome; leaving closes the cleanup stack (newest first), then stops the writer;
    `output` gives the invocation output, or raises to have the invocation retried.

    Args:
        state: the replay state, loaded (its `cleanup` is this invocation's exit stack).
        client: the service to checkpoint with.
        checkpoint_token: the invocation's first checkpoint token.
        limits: request caps and timing of the checkpoint writer.
    """

    def __init__(
        self,
        state: ExecutionState,
        client: DurableServiceClient,
        checkpoint_token: str,
        limits: BatcherLimits | None = None,
    ) -> None:
        self.state = state
        self.cleanup = state.cleanup
        """Callbacks run when the handler has ended, newest first, before the writer stops."""
        self._batcher = CheckpointBatcher(client, state, checkpoint_token, limits)
        self._stack = ExitStack()
        self._output: dict[str, Any] = {}
        self._retry: BaseException | None = None

    def __enter__(self) -> Invocation:
        self.state.checkpointer = self._batcher.start()
        self._stack.callback(self._batcher.close)
        self._stack.push(self.cleanup)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def serve_loop(self, loop: asyncio.AbstractEventLoop, thread_id: int) -> None:
        """The handler runs on `loop`, on thread `thread_id` (`CheckpointBatcher.serve_loop`)."""
        self._batcher.serve_loop(loop, thread_id)

    def run(self, call: Callable[[], Any]) -> None:
        """Call `call` (the face's handler call) and classify its value or exception."""
        try:
            result, raised = call(), None
        except BaseException as exc:
            result, raised = None, exc
        if raised is None:
            try:
                self._output = self._succeeded(result)
                return
            except BaseException as exc:  # the large-result EXECUTION update failed
                raised = exc
        self._output, self._retry = self._classify(raised)

    def output(self) -> dict[str, Any]:
        """The invocation output, once the writer has stopped.

        Raises:
            InvocationError: a retryable failure (the service retries the invocation).
        """
        batcher = self._batcher
        if batcher.revoked:
            return output(InvocationStatus.PENDING)
        retry, out = self._retry, self._output
        if retry is None and batcher.failure is not None:
            # An async update failed after the handler's last sync checkpoint.
            retry = retryable_invocation_error(batcher.failure)
            if retry is None:
                out = output(
                    InvocationStatus.FAILED,
                    error=error_object_from_exception(batcher.failure.source_exception),
                )
        if retry is not None:
            raise retry
        return out

    # ----------------------------------------------------------------- outcomes

    def _classify(self, error: BaseException) -> tuple[dict[str, Any], BaseException | None]:
        """The output for a handler that raised `error`, and the error to re-raise (a retry)."""
        if is_suspension(error):
            return output(InvocationStatus.PENDING), None
        retry = retryable_invocation_error(error)
        if retry is not None:
            return {}, retry
        if isinstance(error, BackgroundThreadError):
            return self._failed(error.source_exception), None
        if isinstance(error, OrphanedChildException):
            return self._failed(
                ExecutionError(f"operation {error.operation_id} ran after its context completed")
            ), None
        if isinstance(error, Exception):
            return self._failed(error), None
        raise error  # KeyboardInterrupt, SystemExit: not an outcome of the handler

    def _succeeded(self, result: Any) -> dict[str, Any]:
        try:
            serialized = json.dumps(result)
        except (TypeError, ValueError) as exc:
            error: Exception = exc
            if hasattr(result, "__await__"):
                error = DurableUsageError(
                    f"the handler returned {type(result).__name__} {result!r}, an awaitable, not its value:"
                    " an `async def` handler awaits it (`return await callback.result()`); a sync"
                    " handler cannot wait for one: declare it `async def`"
                )
                if hasattr(result, "close"):
                    result.close()
            return output(InvocationStatus.FAILED, error=error_object_from_exception(error))
        if len(serialized) > RESPONSE_LIMIT_CHARS:
            # No SDK-side bound here, the service decides. The engine stores the whole
            # result; AWS refuses a Payload over 6,291,456 with
            # InvalidParameterValueException, which fails the execution without a retry.
            self.state.create_checkpoint(self._execution_update(OperationAction.SUCCEED, payload=serialized))
            return output(InvocationStatus.SUCCEEDED, result="")
        return output(InvocationStatus.SUCCEEDED, result=serialized)

    def _failed(self, error: BaseException) -> dict[str, Any]:
        # The recorded error is cut to the service's error bound (`fit_error`), far under the
        # response limit, so it always travels in the output.
        return output(InvocationStatus.FAILED, error=error_object_from_exception(error))

    def _execution_update(self, action: OperationAction, **fields: Any) -> OperationUpdate:
        return OperationUpdate(
            id=f"execution-result-{int(self.state.clock.time() * 1000)}",
            type=OperationType.EXECUTION,
            action=action,
            **fields,
        )


__all__ = ["RESPONSE_LIMIT_CHARS", "Invocation", "is_suspension", "output"]
