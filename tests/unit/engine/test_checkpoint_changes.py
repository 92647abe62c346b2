"""A checkpoint response reports what the service changed since the previous token.

`NewExecutionState.Operations` = the operations the request changed, plus every operation of
the execution the service changed since the token presented was issued (a wait whose timer
fired, a step retry made READY, a callback completed, ...), each once, in its latest state.
Timers already due fire when a checkpoint arrives, so an SDK's "refresh" at a wait's
scheduled end sees it completed (the in-process resume of map/parallel branches).
Over 1,000 changed operations, the rest come through NextMarker and get-state paging.
"""

from __future__ import annotations

from collections import Counter

import pytest

from perdure.engine import Engine, VirtualClock
from perdure.engine.store import MemoryStore, SqliteStore, Store
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import (
    ErrorObject,
    ExecutionStatus,
    GetDurableExecutionStateRequest,
    InvocationOutput,
    Operation,
    OperationStatus,
    OperationType,
    SendDurableExecutionCallbackSuccessRequest,
)

from .fakes import PENDING, Recorder, Session, retry, start, succeed, succeeded, wait_start
from .test_callback import cb_start


def _ids(ops: tuple[Operation, ...]) -> list[tuple[str, OperationStatus]]:
    return [(op.id, op.status) for op in ops]


def _virtual(engine: Engine) -> VirtualClock:
    assert isinstance(engine.clock, VirtualClock)
    return engine.clock


def _run(engine: Engine, recorder: Recorder) -> str:
    engine.register_function("fn", recorder)
    arn = engine.start_execution("fn", None)
    engine.drive(arn)
    return arn


def test_a_wait_due_between_two_checkpoints_is_in_the_second_response_once(engine: Engine) -> None:
    clock = _virtual(engine)
    responses: list[list[tuple[str, OperationStatus]]] = []

    def body(s: Session) -> InvocationOutput:
        if "w" in s.ops:
            return succeeded()
        s.cp(wait_start("w", 5))
        clock.advance(5)  # no scheduler ran: the checkpoint itself fires the due timer
        responses.append(_ids(s.cp(start("a"), succeed("a", "1")).new_execution_state.operations))
        responses.append(_ids(s.cp().new_execution_state.operations))  # nothing new: not repeated
        assert s.ops["w"].status is OperationStatus.SUCCEEDED
        return succeeded()

    recorder = Recorder(engine, body)
    arn = _run(engine, recorder)
    assert responses == [[("w", OperationStatus.SUCCEEDED), ("a", OperationStatus.SUCCEEDED)], []]
    assert len(recorder.inputs) == 1
    assert engine.get_execution(arn).status is ExecutionStatus.SUCCEEDED


def test_a_wait_fired_by_the_scheduler_meanwhile_is_reported_once(engine: Engine) -> None:
    clock = _virtual(engine)
    seen: list[list[tuple[str, OperationStatus]]] = []

    def body(s: Session) -> InvocationOutput:
        if "w" in s.ops:
            return succeeded()
        s.cp(wait_start("w", 5))
        clock.advance(5)
        engine.scheduler.fire_due_timers()
        seen.append(_ids(s.cp().new_execution_state.operations))
        seen.append(_ids(s.cp().new_execution_state.operations))
        return PENDING

    recorder = Recorder(engine, body)
    _run(engine, recorder)
    assert seen == [[("w", OperationStatus.SUCCEEDED)], []]
    # it returned PENDING after the change: invoked again, as AWS does after every transition
    assert len(recorder.inputs) == 2 and recorder.inputs[1].updated_operation_ids == ("w",)


def test_a_step_made_ready_is_reported(engine: Engine) -> None:
    clock = _virtual(engine)
    seen: list[list[tuple[str, OperationStatus]]] = []

    def body(s: Session) -> InvocationOutput:
        if s.ops.get("s") is not None and s.ops["s"].status is OperationStatus.SUCCEEDED:
            return succeeded()
        s.cp(start("s"), retry("s", 3, ErrorObject("boom", "Error")))
        seen.append(_ids(s.cp().new_execution_state.operations))  # not due yet: nothing
        clock.advance(3)
        seen.append(_ids(s.cp().new_execution_state.operations))
        s.cp(start("s"), succeed("s", "1"))
        return succeeded()

    recorder = Recorder(engine, body)
    _run(engine, recorder)
    assert seen == [[], [("s", OperationStatus.READY)]]
    assert len(recorder.inputs) == 1


def test_a_callback_completed_meanwhile_is_reported_once_with_the_request_own_changes(
    engine: Engine,
) -> None:
    seen: list[list[tuple[str, OperationStatus]]] = []

    def body(s: Session) -> InvocationOutput:
        if "cb" in s.ops:
            return succeeded()
        s.cp(cb_start())
        details = s.ops["cb"].callback_details
        assert details is not None and details.callback_id is not None
        engine.service.send_durable_execution_callback_success(
            SendDurableExecutionCallbackSuccessRequest(details.callback_id, b'"yes"')
        )
        seen.append(_ids(s.cp(start("a")).new_execution_state.operations))
        seen.append(_ids(s.cp(succeed("a", "1")).new_execution_state.operations))
        return succeeded()

    _run(engine, Recorder(engine, body))
    assert seen == [
        [("cb", OperationStatus.SUCCEEDED), ("a", OperationStatus.STARTED)],
        [("a", OperationStatus.SUCCEEDED)],
    ]


def test_a_change_the_request_overwrites_is_reported_once_in_its_latest_state(engine: Engine) -> None:
    clock = _virtual(engine)
    seen: list[list[tuple[str, OperationStatus]]] = []

    def body(s: Session) -> InvocationOutput:
        s.cp(start("s"), retry("s", 1))
        clock.advance(1)
        engine.scheduler.fire_due_timers()  # READY by the service ...
        seen.append(_ids(s.cp(start("s"), succeed("s", "1")).new_execution_state.operations))
        return succeeded()

    _run(engine, Recorder(engine, body))
    assert seen == [[("s", OperationStatus.SUCCEEDED)]]  # ... then SUCCEEDED by the request


def test_nothing_before_the_invocation_began_is_reported_again(engine: Engine) -> None:
    clock = _virtual(engine)
    first: list[list[tuple[str, OperationStatus]]] = []

    def body(s: Session) -> InvocationOutput:
        if "w" not in s.ops:
            s.cp(wait_start("w", 5))
            return PENDING
        first.append(_ids(s.cp().new_execution_state.operations))  # the wait is in the initial state
        return succeeded()

    engine.register_function("fn", Recorder(engine, body))
    arn = engine.start_execution("fn", None)
    engine.run_until_idle()
    clock.advance(5)
    engine.drive(arn)
    assert first == [[]]


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_over_1000_changes_page_through_next_marker(kind: str, tmp_path: object) -> None:
    store: Store = MemoryStore() if kind == "memory" else SqliteStore(f"{tmp_path}/p.db")
    engine = Engine(store, VirtualClock(), max_operations=3000)
    clock = _virtual(engine)
    reported: Counter[str] = Counter()
    markers: list[str | None] = []

    def body(s: Session) -> InvocationOutput:
        if "w0" in s.ops:
            return succeeded()
        for chunk in range(0, 1200, 200):
            s.cp(*(wait_start(f"w{i}", 5) for i in range(chunk, chunk + 200)))
        clock.advance(5)
        response = s.cp(start("x"))
        ops = list(response.new_execution_state.operations)
        marker = response.new_execution_state.next_marker
        markers.append(marker)
        while marker is not None:
            assert s.token is not None
            page = engine.service.get_durable_execution_state(
                GetDurableExecutionStateRequest(s.arn, s.token, marker=marker)
            )
            ops.extend(page.operations)
            marker = page.next_marker
        reported.update(op.id for op in ops if op.status is not OperationStatus.STARTED or op.id == "x")
        assert not s.cp().new_execution_state.operations  # all of it was reported already
        return succeeded()

    try:
        _run(engine, Recorder(engine, body))
    finally:
        engine.close()
    assert markers[0] is not None
    assert set(reported) == {f"w{i}" for i in range(1200)} | {"x"}
    assert set(reported.values()) == {1}


def test_a_foreign_changes_marker_is_refused(engine: Engine) -> None:
    errors: list[str] = []

    def body(s: Session) -> InvocationOutput:
        assert s.token is not None
        for marker in ("c5", "cx-1", "c3-2", "c1-2-3", "c0-9223372036854775808", "c\uff10-2"):
            with pytest.raises(InvalidParameterValueError) as info:
                engine.service.get_durable_execution_state(
                    GetDurableExecutionStateRequest(s.arn, s.token, marker=marker)
                )
            errors.append(str(info.value))
        return succeeded()

    _run(engine, Recorder(engine, body))
    assert len(errors) == 6 and all("is not a marker" in e for e in errors)


def test_operation_types_are_reported_without_the_execution(engine: Engine) -> None:
    types: list[OperationType] = []

    def body(s: Session) -> InvocationOutput:
        types.extend(op.type for op in s.cp(start("a")).new_execution_state.operations)
        return succeeded()

    _run(engine, Recorder(engine, body))
    assert types == [OperationType.STEP]
