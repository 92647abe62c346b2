"""perdure.sdk.errors: the tree, the control-flow signals, ErrorObject conversion and replay."""

from __future__ import annotations

import pytest

from perdure.sdk import errors as e
from perdure.wire.errors import InvalidParameterValueError, PerdureError, TooManyRequestsError
from perdure.wire.types import ErrorObject


def test_tree_hangs_under_perdure_error() -> None:
    assert issubclass(e.DurableExecutionsError, PerdureError)
    assert issubclass(e.NonDeterministicExecutionError, e.ExecutionError)
    assert issubclass(e.CheckpointError, e.BotoClientError)
    assert issubclass(e.BotoClientError, e.InvocationError)
    assert issubclass(e.StepInterruptedError, e.InvocationError)
    assert issubclass(e.RetryableSerDesError, e.InvocationError)
    assert issubclass(e.ValidationError, ValueError)
    for cls in (e.StepError, e.InvokeError, e.ChildContextError, e.WaitForConditionError, e.CallbackError):
        assert issubclass(cls, e.DurableOperationError)
    for cls in (e.CallbackExternalError, e.CallbackTimeoutError, e.CallbackSubmitterError):
        assert issubclass(cls, e.CallbackError)


@pytest.mark.parametrize(
    "signal",
    [
        e.SuspendExecution("x"),
        e.TimedSuspendExecution("x", 1.0),
        e.OrphanedChildException("x", "op"),
        e.BackgroundThreadError("x", ValueError()),
    ],
)
def test_signals_escape_except_exception(signal: BaseException) -> None:
    assert not isinstance(signal, Exception)
    with pytest.raises(type(signal)):
        try:
            raise signal
        except Exception:  # pragma: no cover - must not catch
            pytest.fail("caught by except Exception")


def test_suspend_message_says_do_not_catch() -> None:
    assert "do not catch" in str(e.SuspendExecution("waiting"))


def test_timed_suspend_from_delay_is_in_the_future() -> None:
    import time

    signal = e.TimedSuspendExecution.from_delay("x", 10)
    assert signal.scheduled_timestamp >= time.time() + 9


def test_error_object_builtin_is_bare_and_others_qualified() -> None:
    assert e.error_object_from_exception(ValueError("boom")) == ErrorObject("boom", "ValueError")

    class Custom(Exception):
        pass

    record = e.error_object_from_exception(Custom("c"))
    assert (
        record.error_type
        == f"{__name__}.test_error_object_builtin_is_bare_and_others_qualified.<locals>.Custom"
    )


def test_serdes_error_has_a_fixed_discriminator() -> None:
    class MySerDesError(e.SerDesError):
        pass

    record = e.error_object_from_exception(MySerDesError("bad"))
    assert record.error_type == e.SERDES_ERROR_TYPE == "perdure.sdk.errors.SerDesError"
    with pytest.raises(e.SerDesError) as info:
        e.raise_operation_error(record, e.StepError)
    assert not isinstance(info.value, e.StepError)


def test_operation_error_keeps_its_data() -> None:
    original = e.StepError("m", error_type="KeyError", data="d", stack_trace=["a"])
    record = e.error_object_from_exception(original)
    assert record == ErrorObject("m", "perdure.sdk.errors.StepError", "d", ("a",))


def test_reconstruction_raises_typed_error_with_cause() -> None:
    with pytest.raises(e.StepError) as info:
        e.raise_operation_error(ErrorObject("'k'", "KeyError"), e.StepError)
    err = info.value
    assert err.message == "'k'" and err.error_type == "KeyError"
    assert type(err.__cause__) is e.DurableOperationError


@pytest.mark.parametrize(
    "error_type", ["perdure.sdk.errors.StepError", "aws_durable_execution_sdk_python.exceptions.StepError"]
)
def test_registered_cause_types_are_rebuilt(error_type: str) -> None:
    error = e.operation_error_from_object(ErrorObject("m", error_type), e.ChildContextError)
    assert isinstance(error, e.ChildContextError)
    assert isinstance(error.__cause__, e.StepError)


def test_batch_completion_error_takes_a_reason() -> None:
    err = e.BatchCompletionError("CUSTOM_COMPLETION_FAILED")
    assert err.completion_reason == "CUSTOM_COMPLETION_FAILED"
    assert "CUSTOM_COMPLETION_FAILED" in str(err)


@pytest.mark.parametrize(
    ("code", "message", "status", "retryable"),
    [
        ("KMSAccessDeniedException", "x", 502, False),
        ("InvalidParameterValueException", "bad update", 400, False),
        ("InvalidParameterValueException", "Invalid checkpoint token: t1", 400, True),
        ("TooManyRequestsException", "slow down", 429, True),
        ("ServiceException", "boom", 500, True),
        (None, None, None, True),
    ],
)
def test_classification(code: str | None, message: str | None, status: int | None, retryable: bool) -> None:
    category = e.classify_error_category(code, message, status)
    assert (category is e.DurableApiErrorCategory.INVOCATION) is retryable


def test_boto_error_from_service_error() -> None:
    assert not e.CheckpointError.from_exception(InvalidParameterValueError("nope")).is_retryable()
    assert e.CheckpointError.from_exception(TooManyRequestsError("slow")).is_retryable()
    assert isinstance(e.CheckpointError.from_exception(OSError("net")), e.CheckpointError)


def test_an_exception_group_records_the_errors_it_holds() -> None:
    group = ExceptionGroup("unhandled errors in a TaskGroup", [ValueError("a"), KeyError("k")])
    recorded = e.error_object_from_exception(group)
    assert recorded.error_type == "ExceptionGroup"
    assert (
        recorded.error_message
        == "unhandled errors in a TaskGroup (2 sub-exceptions): ValueError: a; KeyError: 'k'"
    )
    many = ExceptionGroup("seven", [ValueError(str(n)) for n in range(7)])
    assert (e.error_object_from_exception(many).error_message or "").endswith("ValueError: 4; and 2 more")
