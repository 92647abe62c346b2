"""perdure.sdk.state: loading, paging, merging and the identity check."""

from __future__ import annotations

import pytest

from perdure.sdk.errors import NonDeterministicExecutionError
from perdure.sdk.state import ExecutionState, check_identity
from perdure.wire.types import InitialExecutionState, Operation, OperationStatus, OperationType

from .fakes import ARN, NOW, FakeService


def _op(op_id: str, status: OperationStatus = OperationStatus.STARTED, **kw: object) -> Operation:
    return Operation(id=op_id, type=OperationType.STEP, status=status, start_timestamp=NOW, **kw)  # type: ignore[arg-type]


def test_load_pages_through_next_marker() -> None:
    service = FakeService()
    for i in range(5):
        service._put(_op(f"s{i}"))
    service.page_size = 2
    invocation = service.invocation()
    assert invocation.input.initial_execution_state.next_marker == "2"
    state = ExecutionState.load(ARN, invocation.input.initial_execution_state, service, "t")
    assert set(state.operations) == {"inv-1", *(f"s{i}" for i in range(5))}
    assert [r.marker for r in service.state_requests] == ["2", "4"]
    assert state.execution_operation() is not None
    assert state.has_replay_operations()


def test_merge_replaces_whole_entries() -> None:
    state = ExecutionState(ARN, [_op("a", name="first")])
    state.merge([_op("a", OperationStatus.SUCCEEDED)])
    assert state.get("a") == _op("a", OperationStatus.SUCCEEDED)
    assert not ExecutionState(ARN, []).has_replay_operations()


def test_identity_check_names_fields() -> None:
    recorded = _op("id1", name="a", sub_type="Step")
    check_identity(recorded, "id1", OperationType.STEP, "Step", "a", None)
    check_identity(_op("id2", name=""), "id2", OperationType.STEP, None, None, "")
    with pytest.raises(NonDeterministicExecutionError) as info:
        check_identity(recorded, "id1", OperationType.WAIT, "Wait", "b", "p")
    message = str(info.value)
    assert "id='id1'" in message
    assert "name checkpoint='a' current='b'" in message
    assert "type checkpoint='STEP' current='WAIT'" in message
    assert "parent_id checkpoint=None current='p'" in message
    assert info.value.step_id == "id1"


def test_no_checkpointer_is_an_error() -> None:
    from perdure.wire.types import OperationAction, OperationUpdate

    with pytest.raises(RuntimeError):
        ExecutionState(ARN).create_checkpoint(OperationUpdate("x", OperationType.STEP, OperationAction.START))
    assert InitialExecutionState().operations == ()
