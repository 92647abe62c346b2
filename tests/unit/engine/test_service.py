"""The service API around checkpoints: starting by name, paging state and history, listing, stopping."""

from __future__ import annotations

import pytest

from perdure.engine import Engine, UnknownFunctionError
from perdure.wire.errors import (
    DurableExecutionAlreadyStartedError,
    InvalidParameterValueError,
    ResourceConflictError,
    ResourceNotFoundError,
    ServiceError,
)
from perdure.wire.service import DurableExecutionService
from perdure.wire.types import (
    DurableExecutionArn,
    ErrorObject,
    EventType,
    ExecutionStatus,
    GetDurableExecutionHistoryRequest,
    GetDurableExecutionRequest,
    GetDurableExecutionStateRequest,
    InvocationOutput,
    InvokeRequest,
    ListDurableExecutionsByFunctionRequest,
    OperationType,
    SendDurableExecutionCallbackSuccessRequest,
    StopDurableExecutionRequest,
)

from .fakes import PENDING, Recorder, Session, Step, Wait, start, succeed, succeeded, workflow


def test_engine_service_satisfies_the_wire_protocol(engine: Engine) -> None:
    assert isinstance(engine.service, DurableExecutionService)


def test_start_is_idempotent_by_name(engine: Engine) -> None:
    engine.register_function("fn", workflow(engine, []))
    arn = engine.start_execution("fn", '{"a": 1}', "order-1")
    assert engine.start_execution("fn", '{"a": 1}', "order-1") == arn
    with pytest.raises(DurableExecutionAlreadyStartedError, match="order-1"):
        engine.start_execution("fn", '{"a": 2}', "order-1")
    parsed = DurableExecutionArn.parse(arn)
    assert parsed.function_name == "fn" and parsed.version == "$LATEST" and parsed.execution_name == "order-1"
    assert arn.startswith(
        "arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST/durable-execution/order-1/"
    )
    with pytest.raises(InvalidParameterValueError, match="DurableExecutionName"):
        engine.start_execution("fn", None, "bad name")
    with pytest.raises(UnknownFunctionError, match="nope"):
        engine.start_execution("nope", None)


def test_execution_operation_carries_the_input(engine: Engine) -> None:
    recorder = workflow(engine, [])
    engine.register_function("fn", recorder)
    arn = engine.start_execution("fn", '"in"')
    engine.drive(arn)
    (op,) = recorder.inputs[0].initial_execution_state.operations
    assert op.type is OperationType.EXECUTION and op.id == DurableExecutionArn.parse(arn).invocation_id
    assert op.execution_details is not None and op.execution_details.input_payload == '"in"'


def test_state_paging(engine: Engine) -> None:
    pages: list[tuple[int, str | None]] = []

    def body(s: Session) -> InvocationOutput:
        if "s0" not in s.ops:
            for i in range(0, 1200, 100):
                s.cp(*(u for j in range(i, i + 100) for u in (start(f"s{j}"), succeed(f"s{j}", "1"))))
            return InvocationOutput(status=PENDING.status)
        # second invocation: the first page holds 1000 operations (the EXECUTION one first)
        state = s.input.initial_execution_state
        pages.append((len(state.operations), state.next_marker))
        marker = state.next_marker
        while marker is not None:
            page = engine.service.get_durable_execution_state(
                GetDurableExecutionStateRequest(s.arn, s.input.checkpoint_token, marker=marker, max_items=150)
            )
            pages.append((len(page.operations), page.next_marker))
            marker = page.next_marker
        assert len(s.ops) == 1201
        return succeeded()

    engine.register_function("fn", Recorder(engine, body))
    arn = engine.start_execution("fn", None)
    engine.run_until_idle()
    with engine.store.transaction() as tx:  # poke: ask for another invocation
        rec = tx.get_execution(arn)
        assert rec is not None
        rec.needs_invocation = True
        tx.update_execution(rec)
    engine.drive(arn)
    assert pages[0] == (1000, pages[0][1]) and pages[0][1] is not None
    assert [n for n, _ in pages] == [1000, 150, 51]
    with pytest.raises(InvalidParameterValueError, match="MaxItems"):
        engine.service.get_durable_execution_state(GetDurableExecutionStateRequest(arn, "x", max_items=1001))


def test_state_needs_the_running_invocations_token(engine: Engine) -> None:
    engine.register_function("fn", workflow(engine, []))
    arn = engine.start_execution("fn", None)
    engine.drive(arn)
    with pytest.raises(InvalidParameterValueError, match="Invalid checkpoint token"):
        engine.service.get_durable_execution_state(GetDurableExecutionStateRequest(arn, "tok"))


def test_history_paging_reverse_and_execution_data(engine: Engine) -> None:
    engine.register_function("fn", workflow(engine, [Step(f"s{i}") for i in range(10)]))
    arn = engine.start_execution("fn", '"secret"')
    engine.drive(arn)
    everything = engine.history(arn)
    assert len(everything) == 1 + 20 + 2
    ids: list[int] = []
    marker = None
    while True:
        page = engine.service.get_durable_execution_history(
            GetDurableExecutionHistoryRequest(
                arn, include_execution_data=True, max_items=4, marker=marker, reverse_order=True
            )
        )
        ids += [e.event_id for e in page.events]
        marker = page.next_marker
        if marker is None:
            break
    assert ids == list(range(len(everything), 0, -1))
    bare = engine.history(arn, include_execution_data=False)
    assert bare[0].details.input is not None and bare[0].details.input.payload is None
    assert all(e.details.result is None or e.details.result.payload is None for e in bare)
    assert everything[0].details.input is not None and everything[0].details.input.payload == '"secret"'
    with pytest.raises(InvalidParameterValueError, match="Marker"):
        engine.service.get_durable_execution_history(GetDurableExecutionHistoryRequest(arn, marker="zz"))
    with pytest.raises(ResourceNotFoundError):
        engine.service.get_durable_execution_history(GetDurableExecutionHistoryRequest(arn + "x"))


def test_list_by_function_filters_and_pages(engine: Engine) -> None:
    engine.register_function("fn", workflow(engine, []))
    engine.register_function("other", workflow(engine, [Wait("w", 10)]))
    done = [engine.start_execution("fn", None, f"e{i}") for i in range(5)]
    for arn in done:
        engine.drive(arn)
    running = engine.start_execution("fn", None, "running")
    engine.start_execution("other", None, "o1")
    list_ = engine.service.list_durable_executions_by_function
    allof = list_(ListDurableExecutionsByFunctionRequest("fn"))
    assert [e.durable_execution_name for e in allof.durable_executions] == [
        "e0",
        "e1",
        "e2",
        "e3",
        "e4",
        "running",
    ]
    by_arn = list_(
        ListDurableExecutionsByFunctionRequest("arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST")
    )
    assert len(by_arn.durable_executions) == 6
    only_running = list_(ListDurableExecutionsByFunctionRequest("fn", statuses=(ExecutionStatus.RUNNING,)))
    assert [e.durable_execution_arn for e in only_running.durable_executions] == [running]
    named = list_(ListDurableExecutionsByFunctionRequest("fn", durable_execution_name="e3"))
    assert [e.durable_execution_arn for e in named.durable_executions] == [done[3]]
    names: list[str] = []
    marker = None
    while True:
        page = list_(
            ListDurableExecutionsByFunctionRequest("fn", reverse_order=True, max_items=4, marker=marker)
        )
        names += [e.durable_execution_name for e in page.durable_executions]
        marker = page.next_marker
        if marker is None:
            break
    assert names == ["running", "e4", "e3", "e2", "e1", "e0"]
    start_time = allof.durable_executions[0].start_timestamp
    after = list_(ListDurableExecutionsByFunctionRequest("fn", started_after=start_time))
    assert len(after.durable_executions) == 6


def test_stop(engine: Engine) -> None:
    engine.register_function("fn", workflow(engine, [Wait("w", 100)]))
    arn = engine.start_execution("fn", None)
    engine.run_until_idle()
    engine.service.stop_durable_execution(StopDurableExecutionRequest(arn, ErrorObject("enough", "Stopped")))
    execution = engine.get_execution(arn)
    assert execution.status is ExecutionStatus.STOPPED and execution.error == ErrorObject("enough", "Stopped")
    assert engine.history(arn)[-1].event_type is EventType.EXECUTION_STOPPED
    assert engine.next_due_time() is None
    with pytest.raises(ResourceConflictError):
        engine.service.stop_durable_execution(StopDurableExecutionRequest(arn))


def test_invoke_api(engine: Engine) -> None:
    engine.register_function("fn", workflow(engine, [Wait("w", 5)], result='"r"'))
    sync = engine.service.invoke(InvokeRequest("fn", b'"x"', durable_execution_name="n1"))
    assert sync.status_code == 200 and sync.payload == b'"r"' and sync.function_error is None
    event = engine.service.invoke(InvokeRequest("fn", b'"y"', invocation_type="Event"))
    assert event.status_code == 202 and event.durable_execution_arn is not None
    again = engine.service.invoke(InvokeRequest("fn", b'"x"', durable_execution_name="n1"))
    assert again.durable_execution_arn == sync.durable_execution_arn
    with pytest.raises(ResourceNotFoundError):
        engine.service.invoke(InvokeRequest("missing"))
    got = engine.service.get_durable_execution(GetDurableExecutionRequest(sync.durable_execution_arn or ""))
    assert got.result == '"r"' and got.input_payload == '"x"' and got.durable_execution_name == "n1"


def test_an_unknown_callback_id_is_refused(engine: Engine) -> None:
    with pytest.raises(ServiceError, match="not a callback id"):
        engine.service.send_durable_execution_callback_success(
            SendDurableExecutionCallbackSuccessRequest("cb")
        )


def test_failed_output_fails_the_execution(engine: Engine) -> None:
    error = ErrorObject("bad input", "ValueError")
    engine.register_function(
        "fn",
        Recorder(engine, lambda s: InvocationOutput(status=PENDING.status.__class__("FAILED"), error=error)),
    )
    arn = engine.start_execution("fn", None)
    execution = engine.drive(arn)
    assert execution.status is ExecutionStatus.FAILED and execution.error == error
    assert engine.history(arn)[-1].details.error is not None
