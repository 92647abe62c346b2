"""Calling a durable function once: the `Invocable` contract, the Lambda-like context, and
the policy for retrying an invocation that raised.

An `Invocable` receives the invocation input and a `LambdaContext` and returns the
invocation output. Raising `InvocationCrashed(error)` means the process died
(`Runtime.ExitError`); any other exception is a function error. Either way the engine
records the error on that invocation's `InvocationCompleted` event and retries the
invocation per `InvocationRetryPolicy`. Imports only `perdure.wire` and the standard library.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from perdure.wire.errors import PerdureError
from perdure.wire.types import ErrorObject, InvocationInput, InvocationOutput

RUNTIME_EXIT_ERROR = "Runtime.ExitError"
DEFAULT_MEMORY_MB = 128
DEFAULT_INVOCATION_TIMEOUT_SECONDS = 900


@dataclass(frozen=True, slots=True)
class LambdaContext:
    """The Lambda context object a handler receives (the fields durable handlers read)."""

    aws_request_id: str
    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int = DEFAULT_MEMORY_MB
    log_group_name: str = ""
    log_stream_name: str = ""
    tenant_id: str | None = None
    deadline: datetime | None = None
    """When the invocation would time out on Lambda (None: never)."""
    now: Callable[[], datetime] | None = None
    """The engine clock's `now`, for `get_remaining_time_in_millis`."""

    def get_remaining_time_in_millis(self) -> int:
        if self.deadline is None or self.now is None:
            return DEFAULT_INVOCATION_TIMEOUT_SECONDS * 1000
        return max(0, int((self.deadline - self.now()).total_seconds() * 1000))


@runtime_checkable
class Invocable(Protocol):
    """A durable function as the engine calls it: one invocation in, one output back."""

    def __call__(self, input: InvocationInput, context: LambdaContext) -> InvocationOutput: ...


class InvocationCrashed(PerdureError):
    """Raised by an `Invocable` when the invocation failed outside the handler's own code: the
    process running it died, a remote function could not be reached, timed out, answered
    with `X-Amz-Function-Error` or with something that is not an invocation output.

    Args:
        error: what to record (`ErrorType` is usually `Runtime.ExitError`).
    """

    def __init__(self, error: ErrorObject) -> None:
        super().__init__(error.error_message or error.error_type or "invocation crashed")
        self.error = error


class FunctionUnreachable(InvocationCrashed):
    """Raised by an `Invocable` that could not reach its function at all (a connection
    refused, or none made in time: a function restarting or being redeployed, not a
    misconfigured address): nothing of the invocation ran. The engine retries it on
    `InvocationRetryPolicy.max_unreachable_attempts`, not on `max_attempts`, so that the
    executions falling due meanwhile do not fail."""


def crash_error(message: str) -> ErrorObject:
    return ErrorObject(error_type=RUNTIME_EXIT_ERROR, error_message=message)


def error_of(exc: BaseException) -> ErrorObject:
    """The error an invocation that raised `exc` records."""
    if isinstance(exc, InvocationCrashed):
        return exc.error
    return ErrorObject(
        error_type=type(exc).__name__,
        error_message=str(exc),
        stack_trace=tuple(traceback.format_exception(exc)),
    )


@dataclass(frozen=True, slots=True)
class InvocationRetryPolicy:
    """How an invocation that raised (or crashed) is retried, like Lambda's own retries.

    After `max_attempts` consecutive failed invocations the execution FAILS with the last
    error. Delays grow from `initial_delay_seconds` by `backoff_rate`, capped at `max_delay_seconds`.
    A function that could not be reached at all (`FunctionUnreachable`: nothing ran) is
    tried again up to `max_unreachable_attempts` times in a row (at least `max_attempts`;
    the default, 365, spans about six hours of delays at the default delays, Lambda's
    longest retry of an event). The two are counted apart within a streak of failures: a
    function that crashes, then is refused while it restarts, spends one crash and some
    unreachable attempts.
    """

    max_attempts: int = 3
    initial_delay_seconds: float = 1.0
    backoff_rate: float = 2.0
    max_delay_seconds: float = 60.0
    max_unreachable_attempts: int = 365

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts < 65_536:
            raise ValueError("InvocationRetryPolicy.max_attempts must be 1..65,535")

    def delay(self, failures: int) -> timedelta:
        """The pause before the next invocation after `failures` consecutive failures (>= 1)."""
        try:
            seconds = self.initial_delay_seconds * self.backoff_rate ** max(0, failures - 1)
        except OverflowError:  # past the cap long before (2.0 ** 1024 overflows a float)
            seconds = self.max_delay_seconds
        return timedelta(seconds=min(seconds, self.max_delay_seconds))

    def gives_up(self, failures: int, *, reached: bool = True) -> bool:
        """Whether `failures` consecutive failed invocations fail the execution (`reached`:
        the last one reached the function)."""
        return failures >= (
            self.max_attempts if reached else max(self.max_unreachable_attempts, self.max_attempts)
        )
