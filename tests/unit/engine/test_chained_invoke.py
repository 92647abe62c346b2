"""CHAINED_INVOKE: the invoked function runs as its own execution; its end completes the
caller's operation (5-x shapes), failures and stops propagate, an unknown function fails
at once, a repeated START is idempotent, and oversized payloads are refused unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from perdure.engine import Engine, lifecycle
from perdure.engine.processors.chained_invoke import child_execution_name
from perdure.engine.registry import function_arn
from perdure.wire import limits
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import (
    ChainedInvokeOptions,
    CheckpointDurableExecutionRequest,
    ErrorObject,
    Event,
    EventType,
    ExecutionStatus,
    InvocationOutput,
    InvocationStatus,
    ListDurableExecutionsByFunctionRequest,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StopDurableExecutionRequest,
)

from . import conformance_match as cm
from .fakes import PENDING, Recorder, Session, event_types, succeeded, wait_start

OP = "i1"


def invoke_start(
    function_name: str, payload: str | None = '"in"', tenant_id: str | None = None, op_id: str = OP
) -> OperationUpdate:
    return OperationUpdate(
        id=op_id,
        type=OperationType.CHAINED_INVOKE,
        action=OperationAction.START,
        sub_type="ChainedInvoke",
        payload=payload,
        chained_invoke_options=ChainedInvokeOptions(function_name, tenant_id),
    )


def caller(
    engine: Engine, function_name: str, payload: str | None = '"in"', tenant_id: str | None = None
) -> Recorder:
    """Starts the invoke, suspends while it runs, then returns its result or fails with its error."""

    def body(s: Session) -> InvocationOutput:
        if OP not in s.ops:
            s.cp(invoke_start(function_name, payload, tenant_id))
        op = s.ops[OP]
        if op.status is OperationStatus.STARTED:
            return PENDING
        details = op.chained_invoke_details
        assert details is not None
        if op.status is OperationStatus.SUCCEEDED:
            return succeeded(details.result)
        return InvocationOutput(status=InvocationStatus.FAILED, error=details.error)

    return Recorder(engine, body)


def target(
    engine: Engine, *, wait: int = 1, error: ErrorObject | None = None, result: str | None = None
) -> Recorder:
    """Waits `wait` seconds, then returns its input (or `result`), or fails with `error`."""

    def body(s: Session) -> InvocationOutput:
        if "w" not in s.ops:
            s.cp(wait_start("w", wait))
            return PENDING
        if s.ops["w"].status is not OperationStatus.SUCCEEDED:
            return PENDING
        if error is not None:
            return InvocationOutput(status=InvocationStatus.FAILED, error=error)
        execution = next(op for op in s.ops.values() if op.type is OperationType.EXECUTION)
        assert execution.execution_details is not None
        return succeeded(result if result is not None else execution.execution_details.input_payload)

    return Recorder(engine, body)


def checked(
    engine: Engine, body: Callable[[Session], InvocationOutput], problems: list[BaseException]
) -> Recorder:
    """A recorder that keeps what the body raised (the engine would record and retry it)."""

    def run(s: Session) -> InvocationOutput:
        try:
            return body(s)
        except BaseException as exc:
            problems.append(exc)
            raise

    return Recorder(engine, run)


def started_event(engine: Engine, arn: str) -> Event:
    return next(e for e in engine.history(arn) if e.event_type is EventType.CHAINED_INVOKE_STARTED)


def child_arns(engine: Engine, function_name: str = "target") -> list[str]:
    page = engine.service.list_durable_executions_by_function(
        ListDurableExecutionsByFunctionRequest(function_name)
    )
    return [e.durable_execution_arn for e in page.durable_executions]


def test_the_target_runs_as_its_own_execution_and_its_result_completes_the_call(engine: Engine) -> None:
    engine.register_function("target", target(engine))
    calls = caller(engine, "target", '"hello"', tenant_id="t-1")
    engine.register_function("caller", calls)
    arn = engine.start_execution("caller", None)
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
    assert engine.get_execution(arn).result == '"hello"'

    assert event_types(engine, arn) == [
        "ExecutionStarted",
        "ChainedInvokeStarted",
        "InvocationCompleted",
        "ChainedInvokeSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    req = cm.load("invoke", "5-1")
    expected = req["ExpectedExecutionHistory"]
    for e in expected:  # bind the generated input the way the runner does
        e.get("ChainedInvokeStartedDetails", {}).get("Input", {}).update(Payload="*")
        e.get("ChainedInvokeSucceededDetails", {}).get("Result", {}).update(Payload="*")
    cm.assert_history(engine.history(arn), expected)

    details = started_event(engine, arn).details
    (child,) = child_arns(engine)
    assert (details.function_name, details.tenant_id, details.executed_version) == (
        "target",
        "t-1",
        "$LATEST",
    )
    assert details.input is not None and details.input.payload == '"hello"'
    assert details.durable_execution_arn == child != arn
    described = engine.get_execution(child)
    assert described.status is ExecutionStatus.SUCCEEDED and described.input_payload == '"hello"'
    assert [e.event_type.value for e in engine.history(child)][:2] == ["ExecutionStarted", "WaitStarted"]
    # The caller's re-invocation is told which operation the service changed.
    assert calls.inputs[1].updated_operation_ids == (OP,)


@pytest.mark.parametrize(
    "name", ["target", function_arn("target"), function_arn("target", "$LATEST"), "target:$LATEST"]
)
def test_the_target_resolves_by_name_arn_and_qualified_arn(engine: Engine, name: str) -> None:
    engine.register_function("target", target(engine))
    engine.register_function("caller", caller(engine, name))
    arn = engine.start_execution("caller", None)
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
    assert started_event(engine, arn).details.function_name == name
    assert len(child_arns(engine)) == 1


def test_a_failed_target_fails_the_operation_with_its_error(engine: Engine) -> None:
    error = ErrorObject(error_message="target function error", error_type="RuntimeError")
    engine.register_function("target", target(engine, error=error))
    engine.register_function("caller", caller(engine, "target"))
    arn = engine.start_execution("caller", None)
    assert engine.drive(arn).status is ExecutionStatus.FAILED
    failed = next(e for e in engine.history(arn) if e.event_type is EventType.CHAINED_INVOKE_FAILED)
    assert failed.id == OP and failed.details.error is not None
    assert failed.details.error.payload == error
    assert engine.get_execution(arn).error == error
    cm.assert_history(engine.history(arn), cm.load("invoke", "5-5")["ExpectedExecutionHistory"])


def test_stopping_the_target_stops_the_operation_and_reinvokes_the_caller(engine: Engine) -> None:
    engine.register_function("target", target(engine, wait=3600))
    calls = caller(engine, "target")
    engine.register_function("caller", calls)
    arn = engine.start_execution("caller", None)
    engine.run_until_idle()  # the caller is suspended, the target waits an hour
    (child,) = child_arns(engine)
    stop = ErrorObject(error_message="stopped by the operator", error_type="Stopped")
    engine.service.stop_durable_execution(StopDurableExecutionRequest(child, stop))
    assert engine.drive(arn).status is ExecutionStatus.FAILED
    stopped = [e for e in engine.history(arn) if e.event_type is EventType.CHAINED_INVOKE_STOPPED]
    assert len(stopped) == 1 and stopped[0].details.error is not None
    assert stopped[0].details.error.payload == stop
    assert len(calls.inputs) == 2
    with engine.store.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        op = tx.get_operation(rec.key, OP)
    assert op is not None and op.status is OperationStatus.STOPPED


def test_an_unknown_function_fails_the_operation_in_the_same_response(engine: Engine) -> None:
    seen: list[OperationStatus] = []

    def body(s: Session) -> InvocationOutput:
        s.cp(invoke_start("missing"))
        seen.append(s.ops[OP].status)
        return PENDING if s.ops[OP].status is OperationStatus.STARTED else succeeded('"gave up"')

    engine.register_function("caller", Recorder(engine, body))
    arn = engine.start_execution("caller", None)
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
    assert seen == [OperationStatus.FAILED]
    assert event_types(engine, arn)[1:3] == ["ChainedInvokeStarted", "ChainedInvokeFailed"]
    failed = engine.history(arn)[2].details.error
    assert failed is not None and failed.payload is not None
    assert failed.payload.error_type == "ResourceNotFoundException"
    assert "missing" in (failed.payload.error_message or "")
    assert started_event(engine, arn).details.durable_execution_arn is None


def test_a_repeated_start_is_idempotent_and_a_changed_one_is_refused(engine: Engine) -> None:
    engine.register_function("target", target(engine))
    engine.register_function("other", target(engine))
    outcomes: list[str] = []

    def body(s: Session) -> InvocationOutput:
        if OP in s.ops:
            return PENDING
        s.cp(invoke_start("target"))
        before = engine.history(s.arn)
        response = s.cp(invoke_start("target"))  # the same START again: nothing changes
        assert engine.history(s.arn) == before
        assert [op.status for op in response.new_execution_state.operations] == [OperationStatus.STARTED]
        for changed in (invoke_start("target", '"other input"'), invoke_start("other")):
            with pytest.raises(InvalidParameterValueError) as info:
                s.cp(changed)
            outcomes.append(info.value.message)
        assert engine.history(s.arn) == before
        return PENDING

    problems: list[BaseException] = []
    engine.register_function("caller", checked(engine, body, problems))
    arn = engine.start_execution("caller", None)
    engine.run_until_idle()
    assert problems == []
    assert "changes the Payload" in outcomes[0]
    assert "changes the FunctionName" in outcomes[1]
    assert len(child_arns(engine)) == 1
    assert child_arns(engine, "other") == []  # the refused START's execution was rolled back
    with engine.store.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        name = child_execution_name(rec, OP)
    assert engine.get_execution(child_arns(engine)[0]).durable_execution_name == name
    assert child_execution_name(rec, OP) == name and child_execution_name(rec, "i2") != name


def test_an_oversized_payload_is_refused_and_changes_nothing(engine: Engine) -> None:
    limit = limits.MAX_CHAINED_INVOKE_PAYLOAD_BYTES
    messages: list[str] = []

    def body(s: Session) -> InvocationOutput:
        before = engine.history(s.arn)
        for payload in ("x" * (limit + 1), "\u00e9" * (limit // 2 + 1)):
            with pytest.raises(InvalidParameterValueError) as info:
                s.cp(invoke_start("target", payload))
            messages.append(info.value.message)
        assert engine.history(s.arn) == before and OP not in s.ops
        s.cp(invoke_start("target", "x" * limit))  # exactly the limit, alone: accepted
        return PENDING

    problems: list[BaseException] = []
    engine.register_function("target", target(engine))
    engine.register_function("caller", checked(engine, body, problems))
    arn = engine.start_execution("caller", None)
    engine.scheduler.invoke_once(arn)
    assert problems == []
    for message in messages:
        assert "Id='i1'" in message and "CHAINED_INVOKE" in message
        assert f"{limit:,}-byte limit" in message and "bytes (UTF-8)" in message
    assert f"{limit + 1:,} bytes" in messages[0]
    assert len(child_arns(engine)) == 1


@pytest.mark.parametrize(
    ("update", "rule"),
    [
        (invoke_start(""), "FunctionName is required"),
        (invoke_start("f" * 257), "FunctionName must be 1-256"),
        (invoke_start("target", tenant_id=""), "TenantId must be 1-256"),
        (
            OperationUpdate(id=OP, type=OperationType.CHAINED_INVOKE, action=OperationAction.SUCCEED),
            "accepts START only",
        ),
    ],
)
def test_malformed_starts_are_refused(engine: Engine, update: OperationUpdate, rule: str) -> None:
    messages: list[str] = []

    def body(s: Session) -> InvocationOutput:
        with pytest.raises(InvalidParameterValueError) as info:
            s.cp(update)
        messages.append(info.value.message)
        return PENDING

    engine.register_function("target", target(engine))
    engine.register_function("caller", Recorder(engine, body))
    engine.scheduler.invoke_once(engine.start_execution("caller", None))
    assert rule in messages[0]
    assert child_arns(engine) == []


def test_stopping_the_caller_stops_the_target_and_records_nothing_more(engine: Engine) -> None:
    engine.register_function("target", target(engine, wait=60))
    engine.register_function("caller", caller(engine, "target"))
    arn = engine.start_execution("caller", None)
    engine.run_until_idle()
    engine.service.stop_durable_execution(StopDurableExecutionRequest(arn, None))
    (child,) = child_arns(engine)
    stopped = engine.drive(child)
    assert stopped.status is ExecutionStatus.STOPPED and stopped.error is not None
    assert stopped.error.error_type == "Execution.Stopped" and arn in (stopped.error.error_message or "")
    assert event_types(engine, arn)[-1] == "ExecutionStopped"
    assert not any(
        e.event_type.value.startswith("ChainedInvoke")
        and e.event_type is not EventType.CHAINED_INVOKE_STARTED
        for e in engine.history(arn)
    )
    assert engine.next_due_time() is None


def test_a_result_over_the_limit_fails_the_operation(engine: Engine) -> None:
    big = '"' + "x" * limits.MAX_CHAINED_INVOKE_PAYLOAD_BYTES + '"'
    engine.register_function("target", target(engine, result=big))
    engine.register_function("caller", caller(engine, "target"))
    arn = engine.start_execution("caller", None)
    assert engine.drive(arn).status is ExecutionStatus.FAILED
    error = engine.get_execution(arn).error
    assert error is not None and error.error_type == "ChainedInvoke.ResultTooLarge"
    assert f"{limits.MAX_CHAINED_INVOKE_PAYLOAD_BYTES:,}-byte limit" in (error.error_message or "")


class _Reordered:
    """A store transaction listing open invocations in reverse (the target before its caller)."""

    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    def executions_with_open_invocation(self) -> list[Any]:
        return list(reversed(self._tx.executions_with_open_invocation()))


@pytest.mark.parametrize("target_first", [False, True])
def test_recovery_ends_an_interrupted_target_and_completes_its_caller(
    engine: Engine, target_first: bool
) -> None:
    engine.register_function("target", target(engine))
    engine.register_function("caller", caller(engine, "target"))
    arn = engine.start_execution("caller", None)
    engine.scheduler.invoke_once(arn)  # the caller starts the invoke and suspends
    (child,) = child_arns(engine)
    now = engine.clock.now()
    # A killed engine left both invocations open; the target had checkpointed its result.
    with engine.store.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        rec.needs_invocation = True
        tx.update_execution(rec)
        assert lifecycle.begin_invocation(tx, now, arn, "dead-engine") is not None
        begun = lifecycle.begin_invocation(tx, now, child, "dead-engine")
        assert begun is not None
    result = OperationUpdate(
        id="execution-result-1",
        type=OperationType.EXECUTION,
        action=OperationAction.SUCCEED,
        payload='"late"',
    )
    engine.service.checkpoint_durable_execution(
        CheckpointDurableExecutionRequest(child, begun.input.checkpoint_token, (result,))
    )
    with engine.store.transaction() as tx:
        listing = _Reordered(tx) if target_first else tx
        recovered = lifecycle.recover_interrupted(listing, now, lambda _: False)
    assert sorted(recovered) == sorted([arn, child])
    assert engine.get_execution(child).status is ExecutionStatus.SUCCEEDED
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
    assert engine.get_execution(arn).result == '"late"'
    ids = [e.event_id for e in engine.history(arn)]
    assert ids == list(range(1, len(ids) + 1))
    assert event_types(engine, arn).count("ChainedInvokeSucceeded") == 1
