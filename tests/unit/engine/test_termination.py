"""Ending an execution from the service side: ExecutionTimeout and StopDurableExecution.

The execution ends at once; an invocation still running is closed first (its
InvocationCompleted precedes the terminal event), its token is revoked (its next
checkpoint is answered without a token and changes nothing), open operations are left as
they are, and the chained invokes it started are stopped too.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from perdure.engine import Engine, EngineStalledError
from perdure.wire.errors import CallbackTimeoutServiceError, InvalidParameterValueError, ResourceConflictError
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    ErrorObject,
    EventType,
    ExecutionStatus,
    GetDurableExecutionStateRequest,
    InvocationOutput,
    OperationStatus,
    StopDurableExecutionRequest,
)

from .fakes import PENDING, Recorder, Session, Step, Wait, event_types, start, succeed, succeeded, workflow
from .test_callback import callback_flow, callback_id, success
from .test_chained_invoke import caller, child_arns, target


def operation_status(engine: Engine, arn: str, op_id: str) -> OperationStatus:
    with engine.store.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        op = tx.get_operation(rec.key, op_id)
    assert op is not None
    return op.status


# ------------------------------------------------------------------ timeout


def test_an_execution_past_its_timeout_ends_timed_out(engine: Engine) -> None:
    engine.register_function("fn", workflow(engine, [Wait("w", 8 * 86_400)]))
    arn = engine.start_execution("fn", None)
    t0 = engine.clock.now()
    execution = engine.drive(arn)
    assert execution.status is ExecutionStatus.TIMED_OUT
    assert execution.end_timestamp == t0 + timedelta(seconds=7 * 86_400)  # the default: a week
    assert execution.error is not None and execution.error.error_type == "Execution.Timeout"
    message = execution.error.error_message or ""
    assert "ExecutionTimeout of 604800 seconds" in message and "--execution-timeout" in message
    history = engine.history(arn)
    assert history[0].details.execution_timeout == 7 * 86_400
    assert [e.event_type.value for e in history][-2:] == ["InvocationCompleted", "ExecutionTimedOut"]
    assert history[-1].details.error is not None and history[-1].details.error.payload == execution.error
    assert operation_status(engine, arn, "w") is OperationStatus.STARTED  # left as it was
    assert engine.next_due_time() is None


def test_a_day_long_wait_ends_within_the_default_timeout(engine: Engine) -> None:
    engine.register_function("fn", workflow(engine, [Wait("w", 86_400), Step("after")]))
    assert engine.drive(engine.start_execution("fn", None)).status is ExecutionStatus.SUCCEEDED


def test_the_timeout_is_set_per_engine_and_per_start() -> None:
    with Engine.in_memory(execution_timeout=30) as engine:
        engine.register_function("fn", workflow(engine, [Wait("w", 60)]))
        t0 = engine.clock.now()
        default = engine.start_execution("fn", None, "default")
        longer = engine.start_execution("fn", None, "longer", execution_timeout=120)
        assert engine.drive(default).status is ExecutionStatus.TIMED_OUT
        assert engine.get_execution(default).end_timestamp == t0 + timedelta(seconds=30)
        assert engine.drive(longer).status is ExecutionStatus.SUCCEEDED
        assert engine.history(longer)[0].details.execution_timeout == 120


@pytest.mark.parametrize("seconds", [0, -1, 31_622_401])
def test_a_timeout_out_of_range_is_refused(engine: Engine, seconds: int) -> None:
    engine.register_function("fn", workflow(engine, []))
    with pytest.raises(InvalidParameterValueError, match="ExecutionTimeout"):
        engine.start_execution("fn", None, execution_timeout=seconds)
    with pytest.raises(ValueError, match="execution_timeout"):
        Engine.in_memory(execution_timeout=seconds)


def test_the_virtual_clock_does_not_skip_to_a_lone_deadline(engine: Engine) -> None:
    engine.register_function("fn", callback_flow(engine))
    arn = engine.start_execution("fn", None, execution_timeout=600)
    engine.run_until_idle()
    assert engine.next_due_time() is None  # waiting for the outside world only
    with pytest.raises(EngineStalledError, match="ExecutionTimeout"):
        engine.drive(arn)
    engine.advance_to(engine.clock.now() + timedelta(seconds=600))
    engine.run_until_idle()
    assert engine.get_execution(arn).status is ExecutionStatus.TIMED_OUT
    with pytest.raises(CallbackTimeoutServiceError, match="TIMED_OUT"):
        success(engine, callback_id(engine, arn))


def test_a_deadline_before_other_work_is_where_the_clock_stops(engine: Engine) -> None:
    engine.register_function("fn", workflow(engine, [Wait("w", 3600)]))
    engine.start_execution("fn", None, execution_timeout=60)
    t0 = engine.clock.now()
    engine.run_until_idle()
    assert engine.next_due_time() == t0 + timedelta(seconds=60)


def test_a_timed_out_target_times_out_the_callers_operation(engine: Engine) -> None:
    engine = Engine.in_memory(execution_timeout=30)
    try:
        engine.register_function("target", target(engine, wait=60))
        engine.register_function("caller", caller(engine, "target"))
        arn = engine.start_execution("caller", None, execution_timeout=3600)
        assert engine.drive(arn).status is ExecutionStatus.FAILED
        timed_out = [e for e in engine.history(arn) if e.event_type is EventType.CHAINED_INVOKE_TIMED_OUT]
        assert len(timed_out) == 1 and timed_out[0].details.error is not None
        assert timed_out[0].details.error.payload is not None
        assert timed_out[0].details.error.payload.error_type == "Execution.Timeout"
    finally:
        engine.close()


# ------------------------------------------------- ending a running invocation


def ended_while_running(engine: Engine, end: str) -> tuple[str, dict[str, object]]:
    """Runs one invocation that checkpoints, lets the service end the execution (`end`:
    "stop" or "timeout"), then keeps checkpointing as a zombie would."""
    seen: dict[str, object] = {}

    def body(s: Session) -> InvocationOutput:
        s.cp(start("s1"))
        if end == "stop":
            engine.service.stop_durable_execution(StopDurableExecutionRequest(s.arn, ErrorObject("halt")))
        else:
            engine.advance_to(engine.clock.now() + timedelta(seconds=60))
            engine.scheduler.fire_due_timers()
        stale = s.token
        assert stale is not None
        response = s.cp(succeed("s1", '"late"'))
        seen["token"], seen["operations"] = response.checkpoint_token, response.new_execution_state.operations
        again = engine.service.checkpoint_durable_execution(CheckpointDurableExecutionRequest(s.arn, stale))
        seen["again"] = again.checkpoint_token
        with pytest.raises(InvalidParameterValueError, match="revoked") as info:
            engine.service.get_durable_execution_state(GetDurableExecutionStateRequest(s.arn, stale))
        seen["state_error"] = info.value.message
        return PENDING

    recorder = Recorder(engine, body)
    engine.register_function("fn", recorder)
    arn = engine.start_execution("fn", None, execution_timeout=60)
    engine.run_until_idle()
    seen["invocations"] = len(recorder.inputs)
    return arn, seen


@pytest.mark.parametrize(
    ("end", "status", "terminal"),
    [
        ("stop", ExecutionStatus.STOPPED, "ExecutionStopped"),
        ("timeout", ExecutionStatus.TIMED_OUT, "ExecutionTimedOut"),
    ],
)
def test_a_running_invocation_loses_its_token(
    engine: Engine, end: str, status: ExecutionStatus, terminal: str
) -> None:
    arn, seen = ended_while_running(engine, end)
    assert engine.get_execution(arn).status is status
    assert seen["token"] is None and seen["operations"] == ()  # the SDK's "revoked": it returns PENDING
    assert seen["again"] is None
    assert event_types(engine, arn) == ["ExecutionStarted", "StepStarted", "InvocationCompleted", terminal]
    completed = engine.history(arn)[-2]
    assert completed.details.error is not None and completed.details.error.payload is not None
    assert completed.details.error.payload.error_type == "Invocation.Abandoned"
    assert operation_status(engine, arn, "s1") is OperationStatus.STARTED  # the late SUCCEED changed nothing
    assert seen["invocations"] == 1


def test_a_token_of_an_ended_execution_is_refused_clearly(engine: Engine) -> None:
    tokens: list[str | None] = []

    def body(s: Session) -> InvocationOutput:
        tokens.append(s.token)
        return succeeded()

    engine.register_function("fn", Recorder(engine, body))
    arn = engine.drive(engine.start_execution("fn", None)).durable_execution_arn
    with pytest.raises(InvalidParameterValueError, match=r"Invalid checkpoint token: .* is SUCCEEDED"):
        engine.service.checkpoint_durable_execution(CheckpointDurableExecutionRequest(arn, tokens[0] or ""))


# --------------------------------------------------------------------- stop


def test_stopping_an_ended_execution_is_a_conflict(engine: Engine) -> None:
    engine.register_function("fn", workflow(engine, []))
    arn = engine.start_execution("fn", None)
    engine.drive(arn)
    with pytest.raises(ResourceConflictError, match="already SUCCEEDED"):
        engine.service.stop_durable_execution(StopDurableExecutionRequest(arn))


def test_stopping_a_caller_stops_the_whole_chain(engine: Engine) -> None:
    engine.register_function("leaf", target(engine, wait=600))
    engine.register_function("middle", caller(engine, "leaf"))
    engine.register_function("top", caller(engine, "middle"))
    top = engine.start_execution("top", None)
    engine.run_until_idle()
    arns = [*child_arns(engine, "middle"), *child_arns(engine, "leaf")]
    assert len(arns) == 2
    engine.service.stop_durable_execution(StopDurableExecutionRequest(top, ErrorObject("enough")))
    for arn in (top, *arns):
        assert engine.get_execution(arn).status is ExecutionStatus.STOPPED
    for arn in arns:
        assert event_types(engine, arn)[-1] == "ExecutionStopped"
        assert not any(e.event_type is EventType.CHAINED_INVOKE_STOPPED for e in engine.history(arn))
    assert engine.next_due_time() is None
