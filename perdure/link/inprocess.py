"""The in-process link: the engine calls an SDK lambda handler directly.

The handler (an `@durable_execution` function) receives an `InvocationInputWithClient`
whose client is the engine's own service object, so checkpoints are plain method calls.
Its output dict is decoded with the wire codec.

A handler that ends its interpreter is recorded as Lambda records it, a failed
invocation with `Runtime.ExitError`, and the engine keeps running: `SystemExit`
(``sys.exit``) always, and ``os._exit`` while `exits_as_crashes()` is active (the
conformance runner activates it). There, ``os._exit`` called by a thread that runs an
invocation raises `InterpreterExit` instead of ending the process, and that invocation's
client refuses every later call, so nothing the handler still tries reaches the engine,
as nothing would from a dead process. A thread that runs no invocation exits for real.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from perdure.engine.invoker import InvocationCrashed, crash_error
from perdure.sdk.execution import InvocationInputWithClient
from perdure.sdk.plugin import DurableInstrumentationPluginFactory
from perdure.wire.codec import from_wire
from perdure.wire.errors import PerdureError
from perdure.wire.service import DurableServiceClient
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    GetDurableExecutionStateRequest,
    GetDurableExecutionStateResponse,
    InvocationInput,
    InvocationOutput,
)

from .logs import running

LambdaHandler = Callable[[Any, Any], Any]


def decode_output(raw: Any) -> InvocationOutput:
    """The handler's return value as an `InvocationOutput` (a dict in the AWS shape)."""
    if isinstance(raw, InvocationOutput):
        return raw
    if not isinstance(raw, dict):
        raise TypeError(f"the handler returned {type(raw).__name__}, not the invocation output dict")
    return from_wire(InvocationOutput, raw, timestamps="epoch_millis")


class InterpreterExit(BaseException):
    """``os._exit`` was called by an invocation's thread under `exits_as_crashes()`.

    A `BaseException`, so handler code's ``except Exception`` does not swallow it.
    """

    def __init__(self, status: int) -> None:
        super().__init__(f"os._exit({status}) ends the invocation as a crash")
        self.status = status


class ProcessExitedError(PerdureError):
    """A call from an invocation whose handler has already exited its interpreter."""


class _Exit:
    """One invocation's exit status, set by the patched ``os._exit``."""

    def __init__(self) -> None:
        self.status: int | None = None


_invocation_exit: contextvars.ContextVar[_Exit | None] = contextvars.ContextVar("perdure_exit", default=None)
_real_exit = os._exit
_patch_lock = threading.Lock()
_patch_depth = 0


def _exit_in_invocation(status: int) -> NoReturn:
    record = _invocation_exit.get()
    if record is None:
        _real_exit(status)
    record.status = status
    raise InterpreterExit(status)


@contextmanager
def exits_as_crashes() -> Iterator[None]:
    """While active, ``os._exit`` in an in-process invocation crashes only that invocation.

    Re-entrant and thread-safe; the real ``os._exit`` is back when the outermost exits.
    """
    global _patch_depth
    with _patch_lock:
        _patch_depth += 1
        os._exit = _exit_in_invocation
    try:
        yield
    finally:
        with _patch_lock:
            _patch_depth -= 1
            if _patch_depth == 0:
                os._exit = _real_exit


class _ExitAwareClient:
    """The engine's client for one invocation, dead once its handler has exited."""

    answers_in_process = True  # a local commit, never waiting on perdure's event loop

    def __init__(self, client: DurableServiceClient, exit_record: _Exit) -> None:
        self._client = client
        self._exit = exit_record

    def _check(self) -> None:
        if self._exit.status is not None:
            raise ProcessExitedError(f"the handler exited its interpreter (status {self._exit.status})")

    def checkpoint_durable_execution(
        self, request: CheckpointDurableExecutionRequest
    ) -> CheckpointDurableExecutionResponse:
        self._check()
        return self._client.checkpoint_durable_execution(request)

    def get_durable_execution_state(
        self, request: GetDurableExecutionStateRequest
    ) -> GetDurableExecutionStateResponse:
        self._check()
        return self._client.get_durable_execution_state(request)


def _crash(status: object) -> InvocationCrashed:
    return InvocationCrashed(crash_error(f"Runtime exited with error: exit status {status}"))


class InProcessInvocable:
    """An engine `Invocable` that runs the handler on the calling thread.

    Args:
        handler: the `@durable_execution` handler.
        client: the engine's service.
        plugins: plugin factories every invocation adds to the handler's own (an observer of
            the run in this process).
    """

    def __init__(
        self,
        handler: LambdaHandler,
        client: DurableServiceClient,
        plugins: Sequence[DurableInstrumentationPluginFactory] = (),
    ) -> None:
        self.handler = handler
        self.client = client
        self.plugins = tuple(plugins)

    def __call__(self, input: InvocationInput, context: Any) -> InvocationOutput:
        exit_record = _Exit()
        client = _ExitAwareClient(self.client, exit_record)
        token = _invocation_exit.set(exit_record)
        try:
            with running(input.durable_execution_arn):
                raw = self.handler(
                    InvocationInputWithClient(input=input, client=client, plugins=self.plugins), context
                )
        except SystemExit as exc:
            # sys.exit() exits with 0, sys.exit("message") with 1, as the interpreter does
            raise _crash(0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1) from None
        except BaseException:
            if exit_record.status is None:
                raise
        finally:
            _invocation_exit.reset(token)
        if exit_record.status is not None:  # whatever the handler did afterwards, it exited
            raise _crash(exit_record.status)
        return decode_output(raw)
