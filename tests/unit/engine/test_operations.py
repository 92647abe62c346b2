"""Each operation's transitions and history events, in the exact shapes the conformance
requirements show (step 1-11/1-12, wait 2-1, child 3-1)."""

from __future__ import annotations

from datetime import timedelta

from perdure.engine import Engine, VirtualClock
from perdure.wire.codec import to_wire
from perdure.wire.types import (
    ContextOptions,
    ErrorObject,
    EventType,
    ExecutionStatus,
    InvocationOutput,
    InvocationStatus,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    WaitOptions,
)

from . import conformance_match as cm
from .fakes import (
    PENDING,
    Child,
    Recorder,
    Session,
    Step,
    Wait,
    event_types,
    retry,
    start,
    succeed,
    succeeded,
    wait_start,
    workflow,
)


def run(engine: Engine, recorder: Recorder, payload: str | None = None) -> str:
    engine.register_function("fn", recorder)
    arn = engine.start_execution("fn", payload)
    engine.drive(arn)
    return arn


def test_step_retry_then_success_matches_1_11(engine: Engine) -> None:
    arn = run(engine, workflow(engine, [Step("s1", result='"Operation succeeded"', fail_times=1)]))
    req = cm.load("step", "1-11")
    cm.assert_history(engine.history(arn), req["ExpectedExecutionHistory"])
    assert engine.get_execution(arn).status is ExecutionStatus.SUCCEEDED


def test_retry_exhaustion_matches_1_12(engine: Engine) -> None:
    def body(s: Session) -> InvocationOutput:
        op = s.ops.get("s1")
        attempt = (op.step_details.attempt or 0) + 1 if op and op.step_details else 1
        if op is not None and op.status is OperationStatus.PENDING:
            return PENDING
        err = ErrorObject("always", "Error")
        if attempt < 4:
            s.cp(start("s1"), retry("s1", 1, err))
            return PENDING
        s.cp(
            start("s1"),
            OperationUpdate("s1", OperationType.STEP, OperationAction.FAIL, sub_type="Step", error=err),
        )
        return InvocationOutput(InvocationStatus.FAILED, error=err)

    arn = run(engine, Recorder(engine, body))
    events = engine.history(arn)
    cm.assert_history(events, cm.load("step", "1-12")["ExpectedExecutionHistory"])
    assert events[-1].event_type is EventType.EXECUTION_FAILED
    assert events[-2].event_type is EventType.INVOCATION_COMPLETED
    assert "NextAttemptDelaySeconds" not in to_wire(events[11])["StepFailedDetails"]["RetryDetails"]


def test_wait_matches_2_1_and_records_scheduled_end(engine: Engine) -> None:
    arn = run(engine, workflow(engine, [Wait("w1", 2)]))
    cm.assert_history(engine.history(arn), cm.load("wait", "2-1")["ExpectedExecutionHistory"])
    started = engine.history(arn)[1]
    assert started.details.scheduled_end_timestamp == started.event_timestamp + timedelta(seconds=2)
    # The WaitSucceeded event is recorded at the scheduled end (virtual time).
    assert engine.history(arn)[3].event_timestamp == started.details.scheduled_end_timestamp


def test_child_context_matches_3_1(engine: Engine) -> None:
    recorder = workflow(
        engine, [Child("c1", [Step("s1", result='"abc12345"')], result='"abc12345"')], result='"abc12345"'
    )
    arn = run(engine, recorder, '"abc12345"')
    req = cm.load("child", "3-1")
    cm.assert_history(engine.history(arn), req["ExpectedExecutionHistory"], {"INPUT_1": "abc12345"})


def test_execution_started_is_event_1_and_every_event_has_its_details_key(engine: Engine) -> None:
    arn = run(
        engine, workflow(engine, [Step("a"), Wait("w", 3), Child("c", [Step("b", fail_times=1)])]), '{"k": 1}'
    )
    events = engine.history(arn)
    first = to_wire(events[0])
    assert first["EventType"] == "ExecutionStarted" and first["EventId"] == 1
    assert first["ExecutionStartedDetails"] == {
        "Input": {"Payload": '{"k": 1}', "Truncated": False},
        "ExecutionTimeout": 7 * 86400,
    }
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))
    for e in events:
        assert e.event_type.details_key in to_wire(e)
    completed = [to_wire(e) for e in events if e.event_type is EventType.INVOCATION_COMPLETED]
    assert all(
        {"StartTimestamp", "EndTimestamp", "RequestId"} <= set(c["InvocationCompletedDetails"])
        for c in completed
    )
    assert event_types(engine, arn)[-2:] == ["InvocationCompleted", "ExecutionSucceeded"]


def test_retry_without_error_is_a_condition_poll(engine: Engine) -> None:
    """wait_for_condition "continue": RETRY with a payload -> StepSucceeded with RetryDetails; state kept."""
    states: list[str | None] = []

    def body(s: Session) -> InvocationOutput:
        op = s.ops.get("poll")
        if op is not None and op.status is OperationStatus.PENDING:
            return PENDING
        state = op.step_details.result if op and op.step_details else None
        states.append(state)
        n = int(state or "0") + 1
        if n < 3:
            s.cp(start("poll", sub_type="WaitForCondition"), retry("poll", 2, payload=str(n)))
            return PENDING
        s.cp(start("poll", sub_type="WaitForCondition"), succeed("poll", str(n), sub_type="WaitForCondition"))
        return succeeded(str(n))

    arn = run(engine, Recorder(engine, body))
    assert states == [None, "1", "2"]
    events = [to_wire(e) for e in engine.history(arn)]
    polls = [e for e in events if e["EventType"] == "StepSucceeded"]
    assert polls[0]["StepSucceededDetails"] == {
        "Result": {"Payload": "1", "Truncated": False},
        "RetryDetails": {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 2},
    }
    assert polls[-1]["StepSucceededDetails"]["RetryDetails"] == {"CurrentAttempt": 3}


def test_retry_sets_pending_then_ready_with_attempt_and_timestamp(engine: Engine) -> None:
    seen = []

    def body(s: Session) -> InvocationOutput:
        seen.append(s.ops.get("s"))
        if len(seen) == 1:
            response = s.cp(start("s"), retry("s", 7, ErrorObject("m", "E")))
            (op,) = response.new_execution_state.operations
            assert op.status is OperationStatus.PENDING
            assert op.step_details is not None and op.step_details.attempt == 1
            assert op.step_details.next_attempt_timestamp == op.start_timestamp + timedelta(seconds=7)
            assert op.step_details.error == ErrorObject("m", "E")
            return PENDING
        return succeeded()

    recorder = Recorder(engine, body)
    arn = run(engine, recorder)
    assert seen[1] is not None and seen[1].status is OperationStatus.READY
    assert recorder.inputs[1].updated_operation_ids == ("s",)
    assert engine.get_execution(arn).status is ExecutionStatus.SUCCEEDED


def test_wait_cancel(engine: Engine) -> None:
    def body(s: Session) -> InvocationOutput:
        s.cp(
            OperationUpdate(
                "w", OperationType.WAIT, OperationAction.START, sub_type="Wait", wait_options=WaitOptions(60)
            )
        )
        s.cp(OperationUpdate("w", OperationType.WAIT, OperationAction.CANCEL, sub_type="Wait"))
        return succeeded()

    arn = run(engine, Recorder(engine, body))
    assert event_types(engine, arn)[1:3] == ["WaitStarted", "WaitCancelled"]
    assert engine.next_due_time() is None


def test_context_fail_and_replay_children(engine: Engine) -> None:
    def body(s: Session) -> InvocationOutput:
        s.cp(start("c", OperationType.CONTEXT), start("d", OperationType.CONTEXT))
        s.cp(
            OperationUpdate(
                "c",
                OperationType.CONTEXT,
                OperationAction.FAIL,
                sub_type="RunInChildContext",
                error=ErrorObject("bad", "ValueError"),
            ),
            OperationUpdate(
                "d",
                OperationType.CONTEXT,
                OperationAction.SUCCEED,
                sub_type="RunInChildContext",
                context_options=ContextOptions(True),
            ),
        )
        d = s.ops["d"]
        assert d.context_details is not None and d.context_details.replay_children is True
        return succeeded()

    arn = run(engine, Recorder(engine, body))
    failed = [to_wire(e) for e in engine.history(arn) if e.event_type is EventType.CONTEXT_FAILED]
    assert failed[0]["ContextFailedDetails"]["Error"]["Payload"] == {
        "ErrorMessage": "bad",
        "ErrorType": "ValueError",
    }


def test_execution_update_delivers_the_result_after_invocation_completed(engine: Engine) -> None:
    big = '"' + "x" * (10 * 1024 * 1024) + '"'  # over the 6 MiB response limit
    tokens = []

    def body(s: Session) -> InvocationOutput:
        response = s.cp(
            OperationUpdate(
                "execution-result-1", OperationType.EXECUTION, OperationAction.SUCCEED, payload=big
            )
        )
        tokens.append(response.checkpoint_token)
        return succeeded()

    arn = run(engine, Recorder(engine, body))
    assert tokens == [None]
    execution = engine.get_execution(arn)
    assert execution.status is ExecutionStatus.SUCCEEDED and execution.result == big
    assert event_types(engine, arn)[-2:] == ["InvocationCompleted", "ExecutionSucceeded"]
    with engine.store.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        ((_, op),) = tx.list_operations(rec.key, -1, 10)
    assert op.type is OperationType.EXECUTION and op.status is OperationStatus.SUCCEEDED


def test_execution_fail_update(engine: Engine) -> None:
    def body(s: Session) -> InvocationOutput:
        s.cp(
            OperationUpdate(
                "execution-result-2",
                OperationType.EXECUTION,
                OperationAction.FAIL,
                error=ErrorObject("no", "E"),
            )
        )
        return InvocationOutput(InvocationStatus.FAILED, error=ErrorObject("no", "E"))

    arn = run(engine, Recorder(engine, body))
    assert engine.get_execution(arn).error == ErrorObject("no", "E")
    assert event_types(engine, arn)[-1] == "ExecutionFailed"


def test_checkpoint_returns_only_changed_operations(engine: Engine) -> None:
    sizes = []

    def body(s: Session) -> InvocationOutput:
        for i in range(5):
            sizes.append(len(s.cp(start(f"s{i}"), succeed(f"s{i}", "1")).new_execution_state.operations))
        return succeeded()

    run(engine, Recorder(engine, body))
    assert sizes == [1] * 5


def test_a_timer_that_fires_during_an_invocation_reaches_the_next_checkpoint(engine: Engine) -> None:
    """The SDK polls with empty checkpoints while other work runs; a fired wait shows up there,
    and the execution is invoked once more afterwards (AWS re-invokes after every transition)."""
    seen: list[OperationStatus] = []
    assert isinstance(engine.clock, VirtualClock)
    clock = engine.clock

    def body(s: Session) -> InvocationOutput:
        if "w" in s.ops:
            return succeeded()
        s.cp(wait_start("w", 5))
        clock.advance(5)
        engine.scheduler.fire_due_timers()  # what the scheduler thread does meanwhile
        response = s.cp()  # a "refresh"
        seen.extend(op.status for op in response.new_execution_state.operations)
        return PENDING

    recorder = Recorder(engine, body)
    arn = run(engine, recorder)
    assert seen == [OperationStatus.SUCCEEDED]
    assert len(recorder.inputs) == 2 and recorder.inputs[1].updated_operation_ids == ("w",)
    assert event_types(engine, arn)[1:4] == ["WaitStarted", "WaitSucceeded", "InvocationCompleted"]
