"""The SDK's exceptions, matching the official AWS Durable Execution SDK 3.0 tree.

Owns every exception user code can see from the SDK, the conversion of an exception into
the wire `ErrorObject` (`error_object_from_exception`) and back into a typed operation
error (`raise_operation_error`). Imports only `perdure.wire` and the standard library; it
sits at the bottom of the SDK's import graph.

    PerdureError                                    (perdure.wire.errors)
    └── DurableExecutionsError
        ├── PluginLoadError
        ├── UnrecoverableError(message, termination_reason)
        │   ├── ExecutionError                      invocation returns FAILED
        │   │   ├── NonDeterministicExecutionError(message, step_id)
        │   │   ├── DurableUsageError                (also a TypeError: misuse of a face)
        │   │   └── OperationCancelledError(message, operation_id)
        │   └── InvocationError                     re-raised: the service retries the invocation
        │       ├── BotoClientError(message, error_category, error, response_metadata)
        │       │   ├── CheckpointError
        │       │   └── GetExecutionStateError
        │       ├── StepInterruptedError(message, step_id)
        │       └── RetryableSerDesError
        ├── ValidationError                         (also a ValueError: misuse)
        ├── InvalidStateError
        ├── OrderedLockError
        ├── SerDesError(message, error_type, data, stack_trace)
        └── DurableOperationError(message, error_type, data, stack_trace)
            ├── StepError
            ├── InvokeError
            ├── ChildContextError
            ├── WaitForConditionError
            ├── CallbackError
            │   ├── CallbackExternalError
            │   ├── CallbackTimeoutError
            │   └── CallbackSubmitterError
            └── BatchCompletionError(completion_reason, ...)

    BaseException (control flow: never catch these)
    ├── SuspendExecution(message)
    │   └── TimedSuspendExecution(message, scheduled_timestamp)
    ├── BackgroundThreadError(message, source_exception)
    └── OrphanedChildException(message, operation_id)

A `DurableOperationError` is a durable operation failure: it is recorded in a checkpoint
and rebuilt from that record on the first run and on replay alike, so both raise the same
error. Its `error_type` is the type of the error that escaped the operation (for example
`"ValueError"`), and its `__cause__` is a `DurableOperationError` stand-in for that error.
"""

from __future__ import annotations

import time
from datetime import datetime
from enum import Enum
from typing import Any, NoReturn, Self

from perdure.wire.errors import INVALID_CHECKPOINT_TOKEN, PerdureError, ServiceError
from perdure.wire.types import ErrorObject


class TerminationReason(Enum):
    """Why an invocation stopped (carried by `UnrecoverableError`)."""

    UNHANDLED_ERROR = "UNHANDLED_ERROR"
    INVOCATION_ERROR = "INVOCATION_ERROR"
    EXECUTION_ERROR = "EXECUTION_ERROR"
    CHECKPOINT_FAILED = "CHECKPOINT_FAILED"
    NON_DETERMINISTIC_EXECUTION = "NON_DETERMINISTIC_EXECUTION"
    STEP_INTERRUPTED = "STEP_INTERRUPTED"
    SERIALIZATION_ERROR = "SERIALIZATION_ERROR"


class DurableApiErrorCategory(Enum):
    """Whether a failed service call may succeed in a later invocation."""

    INVOCATION = "INVOCATION"
    EXECUTION = "EXECUTION"


class DurableExecutionsError(PerdureError):
    """Base class of the SDK's exceptions."""


class PluginLoadError(DurableExecutionsError):
    """A configured instrumentation plugin could not be loaded."""


class UnrecoverableError(DurableExecutionsError):
    """An error that ends the invocation."""

    def __init__(self, message: str, termination_reason: TerminationReason) -> None:
        super().__init__(message)
        self.termination_reason = termination_reason


class ExecutionError(UnrecoverableError):
    """Ends the execution: the invocation returns FAILED and is not retried."""

    def __init__(
        self, message: str, termination_reason: TerminationReason = TerminationReason.EXECUTION_ERROR
    ) -> None:
        super().__init__(message, termination_reason)


class NonDeterministicExecutionError(ExecutionError):
    """Replay met an operation whose identity differs from its checkpoint."""

    def __init__(self, message: str, step_id: str | None = None) -> None:
        super().__init__(message, TerminationReason.NON_DETERMINISTIC_EXECUTION)
        self.step_id = step_id


class DurableUsageError(ExecutionError, TypeError):
    """The durable API was used in a way that cannot replay: an `async def` body given to
    the sync face, an operation of the async face never awaited, a context used outside
    its own face or event loop. Fails the execution; the message names the operation."""

    def __init__(self, message: str) -> None:
        super().__init__(message, TerminationReason.EXECUTION_ERROR)


class OperationCancelledError(ExecutionError):
    """A running durable operation was cancelled (`asyncio.timeout`, `wait_for`,
    `Task.cancel`, a `TaskGroup` whose sibling failed). Its outcome would differ on replay,
    so the execution fails; put the timeout inside the step body instead."""

    def __init__(self, message: str, operation_id: str) -> None:
        super().__init__(message, TerminationReason.EXECUTION_ERROR)
        self.operation_id = operation_id


class InvocationError(UnrecoverableError):
    """Ends the invocation by raising from the handler, so the service retries it."""

    def __init__(
        self, message: str, termination_reason: TerminationReason = TerminationReason.INVOCATION_ERROR
    ) -> None:
        super().__init__(message, termination_reason)

    def is_retryable(self) -> bool:
        """Whether a new invocation may succeed (True unless a subclass knows better)."""
        return True


_NON_RETRYABLE_CODES = frozenset(
    {
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "KMSNotFoundException",
    }
)


def classify_error_category(
    code: str | None, message: str | None, http_status: int | None
) -> DurableApiErrorCategory:
    """Classify a failed service call the way the official SDK does.

    KMS misconfiguration and 4xx responses (other than 429 and a stale checkpoint token)
    cannot succeed later (EXECUTION); everything else, 5xx and network errors included,
    may (INVOCATION).
    """
    if code in _NON_RETRYABLE_CODES:
        return DurableApiErrorCategory.EXECUTION
    if http_status is not None and 400 <= http_status < 500 and http_status != 429:
        stale_token = code == "InvalidParameterValueException" and (message or "").startswith(
            INVALID_CHECKPOINT_TOKEN
        )
        if not stale_token:
            return DurableApiErrorCategory.EXECUTION
    return DurableApiErrorCategory.INVOCATION


def client_error_parts(exception: BaseException) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The `Error` and `ResponseMetadata` of a botocore `ClientError` (None, None for others)."""
    response = getattr(exception, "response", None)
    if not isinstance(response, dict):
        return None, None
    return response.get("Error"), response.get("ResponseMetadata")


class BotoClientError(InvocationError):
    """A durable-execution API call failed."""

    def __init__(
        self,
        message: str,
        error_category: DurableApiErrorCategory = DurableApiErrorCategory.INVOCATION,
        error: dict[str, Any] | None = None,
        response_metadata: dict[str, Any] | None = None,
        termination_reason: TerminationReason = TerminationReason.INVOCATION_ERROR,
    ) -> None:
        super().__init__(message, termination_reason)
        self.error = error
        self.response_metadata = response_metadata
        self.error_category = error_category

    @classmethod
    def from_exception(cls, exception: BaseException, message: str | None = None) -> Self:
        """Build from a botocore `ClientError`, a perdure `ServiceError` or any other error
        (the one place a failed service call is classified).

        Args:
            exception: the failure.
            message: this error's message (default: the failure's).
        """
        error: dict[str, Any] | None
        metadata: dict[str, Any] | None
        if isinstance(exception, ServiceError):
            error = {"Code": exception.code, "Message": exception.message}
            metadata = {"HTTPStatusCode": exception.http_status}
        else:
            error, metadata = client_error_parts(exception)
        category = classify_error_category(
            (error or {}).get("Code"), (error or {}).get("Message"), (metadata or {}).get("HTTPStatusCode")
        )
        return cls(str(exception) if message is None else message, category, error, metadata)

    def is_retryable(self) -> bool:
        return self.error_category is DurableApiErrorCategory.INVOCATION


class CheckpointError(BotoClientError):
    """A `CheckpointDurableExecution` call failed."""

    def __init__(
        self,
        message: str,
        error_category: DurableApiErrorCategory = DurableApiErrorCategory.INVOCATION,
        error: dict[str, Any] | None = None,
        response_metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message, error_category, error, response_metadata, TerminationReason.CHECKPOINT_FAILED
        )


class GetExecutionStateError(BotoClientError):
    """A `GetDurableExecutionState` call failed."""

    def __init__(
        self,
        message: str,
        error_category: DurableApiErrorCategory = DurableApiErrorCategory.INVOCATION,
        error: dict[str, Any] | None = None,
        response_metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, error_category, error, response_metadata)


class StepInterruptedError(InvocationError):
    """An AT_MOST_ONCE step attempt started but never recorded its end."""

    def __init__(self, message: str, step_id: str | None = None) -> None:
        super().__init__(message, TerminationReason.STEP_INTERRUPTED)
        self.step_id = step_id


class RetryableSerDesError(InvocationError):
    """A transient serdes failure: the invocation fails and is retried."""

    def __init__(
        self, message: str, termination_reason: TerminationReason = TerminationReason.SERIALIZATION_ERROR
    ) -> None:
        super().__init__(message, termination_reason)


class ValidationError(DurableExecutionsError, ValueError):
    """Incorrect arguments to a durable operation."""


class InvalidStateError(DurableExecutionsError):
    """An operation met a state it cannot proceed from."""


class OrderedLockError(DurableExecutionsError):
    """An earlier holder of an ordered lock failed."""

    def __init__(self, message: str, source_exception: BaseException | None = None) -> None:
        if source_exception is not None:
            message = f"{message} {type(source_exception).__name__}: {source_exception}"
        super().__init__(message)
        self.source_exception = source_exception


def _qualified_name(cls: type[BaseException]) -> str:
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


class SerDesError(DurableExecutionsError):
    """Serializing or deserializing a value failed (permanent; never retried)."""

    def __init__(
        self,
        message: str | None = None,
        error_type: str | None = None,
        data: str | None = None,
        stack_trace: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_type: str = error_type or _qualified_name(type(self))
        self.data = data
        self.stack_trace = stack_trace


class DurableOperationError(DurableExecutionsError):
    """A durable operation failed; recorded in its checkpoint.

    Attributes:
        message: the failure message.
        error_type: the type name of the error that escaped the operation (e.g.
            ``"ValueError"``); this class's qualified name when none is known.
        data: optional serialized error payload.
        stack_trace: optional stack trace lines from the origin.
    """

    def __init__(
        self,
        message: str | None = None,
        error_type: str | None = None,
        data: str | None = None,
        stack_trace: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_type: str = error_type or _qualified_name(type(self))
        self.data = data
        self.stack_trace = stack_trace

    @classmethod
    def from_error_fields(
        cls,
        error_type: str | None,
        message: str | None,
        data: str | None,
        stack_trace: list[str] | None,
    ) -> DurableOperationError:
        """Rebuild the registered subclass for `error_type` (else the base class)."""
        target = _REGISTRY.get(error_type or "", DurableOperationError)
        return target(message=message, error_type=error_type, data=data, stack_trace=stack_trace)


class StepError(DurableOperationError):
    """A step failed (its retries, if any, are exhausted)."""


class InvokeError(DurableOperationError):
    """A chained invoke failed."""


class ChildContextError(DurableOperationError):
    """A child context (run_in_child_context, map, parallel) failed."""


class WaitForConditionError(DurableOperationError):
    """A wait_for_condition operation failed."""


class CallbackError(DurableOperationError):
    """A callback failed; the base of every callback failure."""


class CallbackExternalError(CallbackError):
    """The external system reported the callback as failed."""


class CallbackTimeoutError(CallbackError):
    """The callback timed out (timeout or heartbeat)."""


class CallbackSubmitterError(CallbackError):
    """The submitter step of a wait_for_callback failed."""


class BatchCompletionError(DurableOperationError):
    """A map/parallel batch completed as failed by its custom completion decision."""

    def __init__(
        self,
        completion_reason: Any = "CUSTOM_COMPLETION_FAILED",
        message: str | None = None,
        error_type: str | None = None,
        data: str | None = None,
        stack_trace: list[str] | None = None,
    ) -> None:
        reason = getattr(completion_reason, "value", completion_reason)
        super().__init__(
            message or f"Batch completed as failed by should_complete ({reason})",
            error_type,
            data,
            stack_trace,
        )
        self.completion_reason = completion_reason


_OFFICIAL_MODULE = "aws_durable_execution_sdk_python.exceptions"
_REGISTRY: dict[str, type[DurableOperationError]] = {}


def register_operation_error(error_cls: type[DurableOperationError]) -> None:
    """Register an operation-error class for reconstruction on replay.

    The class must accept the keywords ``message``, ``error_type``, ``data`` and
    ``stack_trace``. It is registered under its own qualified name and under the
    official SDK's module name, so histories written by either SDK rebuild it.
    """
    _REGISTRY[_qualified_name(error_cls)] = error_cls
    _REGISTRY[f"{_OFFICIAL_MODULE}.{error_cls.__qualname__}"] = error_cls


for _cls in (
    StepError,
    InvokeError,
    ChildContextError,
    WaitForConditionError,
    CallbackError,
    CallbackExternalError,
    CallbackTimeoutError,
    CallbackSubmitterError,
    BatchCompletionError,
):
    register_operation_error(_cls)

SERDES_ERROR_TYPE = _qualified_name(SerDesError)
"""The fixed `ErrorType` of every serdes failure, so replay rebuilds it as `SerDesError`."""
_SERDES_ERROR_TYPES = frozenset({SERDES_ERROR_TYPE, f"{_OFFICIAL_MODULE}.SerDesError"})


# ---------------------------------------------------------------- control-flow signals


class SuspendExecution(BaseException):
    """Suspends the invocation (it returns PENDING). Do not catch this.

    A `BaseException`, so `except Exception` in user code cannot swallow it; catching it
    would stop the execution from suspending and break replay.
    """

    def __init__(self, message: str) -> None:
        super().__init__(f"{message} (SuspendExecution is a control-flow signal: do not catch it)")
        self.message = message


class TimedSuspendExecution(SuspendExecution):
    """Suspends until `scheduled_timestamp` (epoch seconds). Do not catch this."""

    def __init__(self, message: str, scheduled_timestamp: float) -> None:
        super().__init__(message)
        self.scheduled_timestamp = scheduled_timestamp

    @classmethod
    def from_delay(cls, message: str, delay_seconds: int) -> TimedSuspendExecution:
        """Suspend for `delay_seconds` from now (a negative delay means now)."""
        return cls(message, time.time() + max(0, delay_seconds))

    @classmethod
    def from_datetime(cls, message: str, datetime_timestamp: datetime) -> TimedSuspendExecution:
        """Suspend until `datetime_timestamp`."""
        return cls(message, datetime_timestamp.timestamp())


class BackgroundThreadError(BaseException):
    """The checkpoint thread failed; carries the cause. Do not catch this."""

    def __init__(self, message: str, source_exception: BaseException) -> None:
        super().__init__(message)
        self.source_exception = source_exception


class OrphanedChildException(BaseException):
    """A child operation checkpointed after its parent context completed. Do not catch this."""

    def __init__(self, message: str, operation_id: str) -> None:
        super().__init__(message)
        self.operation_id = operation_id


def retryable_invocation_error(error: BaseException) -> InvocationError | None:
    """The invocation error that makes the service retry the invocation, if `error` is one.

    The one rule, used by every place that must let such an error through: a retryable
    `InvocationError`, itself or as the source of a `BackgroundThreadError` (a failed
    checkpoint that may succeed later).
    """
    if isinstance(error, BackgroundThreadError):
        error = error.source_exception
    if isinstance(error, InvocationError) and error.is_retryable():
        return error
    return None


# ------------------------------------------------------------------ ErrorObject <-> error


def error_object_from_exception(exception: BaseException) -> ErrorObject:
    """The wire `ErrorObject` recorded for `exception`, cut to the service's error bound
    (`perdure.wire.codec.fit_error`: a larger one would be refused, failing the invocation).

    `ErrorType` is the class's qualified name (builtins bare); a `SerDesError` always
    records `SERDES_ERROR_TYPE`. Operation and serdes errors keep their data and stack
    trace; other errors record only their message.
    """
    from perdure.wire.codec import fit_error  # the codec is loaded by the time anything fails

    return fit_error(_error_object(exception))


def _error_object(exception: BaseException) -> ErrorObject:
    if isinstance(exception, SerDesError):
        return ErrorObject(
            error_message=exception.message,
            error_type=SERDES_ERROR_TYPE,
            error_data=exception.data,
            stack_trace=tuple(exception.stack_trace) if exception.stack_trace else None,
        )
    if isinstance(exception, DurableOperationError):
        return ErrorObject(
            error_message=exception.message,
            error_type=_qualified_name(type(exception)),
            error_data=exception.data,
            stack_trace=tuple(exception.stack_trace) if exception.stack_trace else None,
        )
    try:
        message = str(exception)
        if isinstance(exception, BaseExceptionGroup):
            # "unhandled errors in a TaskGroup (1 sub-exception)" says nothing of the errors.
            inner = [f"{_qualified_name(type(e))}: {e}" for e in exception.exceptions[:5]]
            more = len(exception.exceptions) - len(inner)
            message += ": " + "; ".join(inner) + (f"; and {more} more" if more > 0 else "")
    except Exception:  # an error whose __str__ raises is still recorded (map/parallel helper)
        message = f"<unprintable {type(exception).__qualname__}>"
    return ErrorObject(error_message=message, error_type=_qualified_name(type(exception)))


def operation_error_from_object(
    error: ErrorObject | None, operation_error_cls: type[DurableOperationError]
) -> DurableExecutionsError:
    """The typed error an operation raises for its recorded failure, with its cause set."""
    error = error or ErrorObject()
    trace = list(error.stack_trace) if error.stack_trace is not None else None
    cause = DurableOperationError.from_error_fields(
        error.error_type, error.error_message, error.error_data, trace
    )
    result: DurableExecutionsError
    if error.error_type in _SERDES_ERROR_TYPES:
        result = SerDesError(error.error_message, error.error_type, error.error_data, trace)
    else:
        result = operation_error_cls(
            message=error.error_message,
            error_type=error.error_type,
            data=error.error_data,
            stack_trace=trace,
        )
    result.__cause__ = cause
    return result


def raise_operation_error(
    error: ErrorObject | None, operation_error_cls: type[DurableOperationError]
) -> NoReturn:
    """Raise the typed error for a recorded failure (first run and replay share this)."""
    raise operation_error_from_object(error, operation_error_cls)
