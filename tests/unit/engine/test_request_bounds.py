"""Bounded input: an error too large to store, and a page Marker that is not one the service
returned, are refused with InvalidParameterValueException naming the member, changing nothing."""

from __future__ import annotations

import pytest

from perdure.engine import Engine
from perdure.wire import limits
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import (
    ErrorObject,
    ExecutionStatus,
    GetDurableExecutionHistoryRequest,
    GetDurableExecutionStateRequest,
    ListDurableExecutionsByFunctionRequest,
    OperationAction,
    OperationType,
    OperationUpdate,
    SendDurableExecutionCallbackFailureRequest,
    StopDurableExecutionRequest,
)

from .fakes import Wait, start, workflow
from .test_callback import callback_id, started
from .test_checkpoint_validation import Held, held, rejected  # noqa: F401  (the fixture)

TEN_MIB = 10 * 1024 * 1024


def over(limit: int) -> str:
    return "e" * (limit + 1)


def test_stop_refuses_an_error_too_large_to_store(engine: Engine) -> None:
    engine.register_function("fn", workflow(engine, [Wait("w", 100)]))
    arn = engine.start_execution("fn", None)
    engine.run_until_idle()
    before = engine.history(arn)
    for error in (
        ErrorObject(error_message="m" * TEN_MIB),
        ErrorObject(error_data=over(limits.MAX_ERROR_BYTES)),
        ErrorObject(stack_trace=("frame",) * (limits.MAX_ERROR_BYTES // 4)),
    ):
        with pytest.raises(
            InvalidParameterValueError, match=r"^Error is \d+ bytes as JSON, over the 262144-byte"
        ):
            engine.service.stop_durable_execution(StopDurableExecutionRequest(arn, error))
    assert engine.get_execution(arn).status is ExecutionStatus.RUNNING and engine.history(arn) == before
    fits = ErrorObject(error_message="m" * (limits.MAX_ERROR_BYTES - len('{"ErrorMessage":""}')))
    engine.service.stop_durable_execution(StopDurableExecutionRequest(arn, fits))
    assert engine.get_execution(arn).error == fits


def test_a_callback_failure_too_large_to_store_is_refused(engine: Engine) -> None:
    arn, _, _ = started(engine)
    cid = callback_id(engine, arn)
    before = engine.history(arn)
    with pytest.raises(InvalidParameterValueError, match="over the 262144-byte limit"):
        engine.service.send_durable_execution_callback_failure(
            SendDurableExecutionCallbackFailureRequest(cid, ErrorObject(error_message="m" * TEN_MIB))
        )
    assert engine.history(arn) == before


def test_an_execution_fail_update_with_an_error_too_large_to_store_is_refused(held: Held) -> None:  # noqa: F811
    huge = ErrorObject(error_message="m" * TEN_MIB)
    update = OperationUpdate(id="e", type=OperationType.EXECUTION, action=OperationAction.FAIL, error=huge)
    message = rejected(held, update)
    assert "EXECUTION" in message and "over the 262144-byte limit" in message


BAD_MARKERS = [
    str(2**63),
    str(10**30),
    "-1",
    "abc",
    "",
    " 5",
    "5 ",
    "+5",
    "5_0",
    "05",
    "1e3",
    "\u0661",  # ARABIC-INDIC DIGIT ONE: int() reads it, the service never writes it
]
BAD_CHANGE_MARKERS = ["c", "c1", "c1-", "c-1", "c5-2", "c1-1", f"c1-{2**63}", "c-1-5", "c1-2-3", "c 1-2"]


def test_a_marker_the_service_never_returns_is_refused(engine: Engine) -> None:
    engine.register_function("fn", workflow(engine, [Wait("w", 100)]))
    arn = engine.start_execution("fn", None)
    engine.run_until_idle()
    for marker in BAD_MARKERS:
        with pytest.raises(
            InvalidParameterValueError, match=r"^Marker .* is not a marker this service returned"
        ):
            engine.service.get_durable_execution_history(
                GetDurableExecutionHistoryRequest(arn, marker=marker)
            )
        with pytest.raises(InvalidParameterValueError, match=r"^Marker "):
            engine.service.list_durable_executions_by_function(
                ListDurableExecutionsByFunctionRequest("fn", marker=marker)
            )
    largest = str(limits.MAX_MARKER)
    assert (
        engine.service.get_durable_execution_history(
            GetDurableExecutionHistoryRequest(arn, marker=largest)
        ).events
        == ()
    )
    listed = engine.service.list_durable_executions_by_function(
        ListDurableExecutionsByFunctionRequest("fn", marker="0")
    )
    assert [e.durable_execution_arn for e in listed.durable_executions] == [arn]


def test_get_state_refuses_a_marker_the_service_never_returns(engine: Engine, held: Held) -> None:  # noqa: F811
    session = held.session
    assert session is not None and session.token is not None
    session.cp(start("s1"))
    token = session.token
    assert token is not None
    state = engine.service.get_durable_execution_state
    for marker in BAD_MARKERS + BAD_CHANGE_MARKERS:
        with pytest.raises(InvalidParameterValueError, match=r"^Marker "):
            state(GetDurableExecutionStateRequest(held.arn, token, marker=marker))
    assert [
        op.id for op in state(GetDurableExecutionStateRequest(held.arn, token, marker="0")).operations
    ] == ["s1"]
    assert (
        state(GetDurableExecutionStateRequest(held.arn, token, marker=str(limits.MAX_MARKER))).operations
        == ()
    )
