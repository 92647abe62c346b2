"""The codec's checkpoint requests satisfy the botocore Lambda model (API 2025-12-01).

One sample request per (operation type, action) the SDK sends, encoded with
`to_wire(..., timestamps="datetime")` exactly as the boto3 backend would pass it, and
validated by `tests.wirecheck` (botocore's `ParamValidator` plus the model's max /
pattern / enum constraints). The negative cases prove the checker itself catches drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from perdure.wire.codec import to_wire
from perdure.wire.types import (
    CallbackOptions,
    ChainedInvokeOptions,
    CheckpointDurableExecutionRequest,
    ContextOptions,
    ErrorObject,
    OperationAction,
    OperationType,
    OperationUpdate,
    StepOptions,
    WaitOptions,
)
from tests.wirecheck import assert_valid_checkpoint_request, assert_valid_input, operation_model, wire_errors

ARN = (
    "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST"
    "/durable-execution/order-1001/0b9f1c2e-4d5a-4e7b-9c3d-2f1e0a9b8c7d"
)
TOKEN = "eyJzZXEiOjEsImFybiI6Im9yZGVycyJ9"
ERROR = ErrorObject(
    error_message="card declined",
    error_type="PaymentError",
    error_data='{"code": 51}',
    stack_trace=('File "order.py", line 12, in charge', "PaymentError: card declined"),
)

S, A = OperationType, OperationAction

UPDATES: dict[str, OperationUpdate] = {
    "step-start": OperationUpdate(id="1", type=S.STEP, action=A.START, name="reserve", sub_type="Step"),
    "step-start-child": OperationUpdate(
        id="c1-2", parent_id="c1", type=S.STEP, action=A.START, name="pack", sub_type="Step"
    ),
    "step-succeed": OperationUpdate(
        id="1", type=S.STEP, action=A.SUCCEED, sub_type="Step", payload='{"ok":true}'
    ),
    "step-succeed-empty": OperationUpdate(id="1", type=S.STEP, action=A.SUCCEED, payload=""),
    "step-fail": OperationUpdate(id="1", type=S.STEP, action=A.FAIL, sub_type="Step", error=ERROR),
    "step-retry": OperationUpdate(
        id="1",
        type=S.STEP,
        action=A.RETRY,
        error=ERROR,
        step_options=StepOptions(next_attempt_delay_seconds=2),
    ),
    "condition-retry": OperationUpdate(
        id="2",
        type=S.STEP,
        action=A.RETRY,
        sub_type="WaitForCondition",
        payload='{"polls":3}',
        step_options=StepOptions(next_attempt_delay_seconds=31_622_400),
    ),
    "wait-start": OperationUpdate(
        id="3",
        type=S.WAIT,
        action=A.START,
        name="cool off",
        sub_type="Wait",
        wait_options=WaitOptions(wait_seconds=1),
    ),
    "wait-cancel": OperationUpdate(id="3", type=S.WAIT, action=A.CANCEL),
    "context-start": OperationUpdate(
        id="c1", type=S.CONTEXT, action=A.START, name="ship", sub_type="RunInChildContext"
    ),
    "context-succeed": OperationUpdate(
        id="c1",
        type=S.CONTEXT,
        action=A.SUCCEED,
        sub_type="Map",
        payload='{"type":"MapResult","totalCount":200}',
        context_options=ContextOptions(replay_children=True),
    ),
    "context-fail": OperationUpdate(id="c1", type=S.CONTEXT, action=A.FAIL, sub_type="Parallel", error=ERROR),
    "callback-start": OperationUpdate(
        id="4",
        type=S.CALLBACK,
        action=A.START,
        name="approval",
        sub_type="Callback",
        callback_options=CallbackOptions(timeout_seconds=3600, heartbeat_timeout_seconds=0),
    ),
    "invoke-start": OperationUpdate(
        id="5",
        type=S.CHAINED_INVOKE,
        action=A.START,
        name="notify",
        sub_type="ChainedInvoke",
        payload='{"to":"ops"}',
        chained_invoke_options=ChainedInvokeOptions(
            function_name="arn:aws:lambda:us-east-1:123456789012:function:notify:$LATEST",
            tenant_id="tenant-a",
            x_amzn_trace_id="Root=1-5759e988-bd862e3fe1be46a994272793",
        ),
    ),
    "invoke-start-name": OperationUpdate(
        id="6", type=S.CHAINED_INVOKE, action=A.START, chained_invoke_options=ChainedInvokeOptions("notify")
    ),
    "execution-succeed": OperationUpdate(
        id="execution-result-1764374400000", type=S.EXECUTION, action=A.SUCCEED, payload='"x"'
    ),
    "execution-fail": OperationUpdate(
        id="execution-result-1764374400001", type=S.EXECUTION, action=A.FAIL, error=ERROR
    ),
}


def _request(*updates: OperationUpdate, client_token: str | None = None) -> CheckpointDurableExecutionRequest:
    return CheckpointDurableExecutionRequest(
        durable_execution_arn=ARN, checkpoint_token=TOKEN, updates=updates, client_token=client_token
    )


@pytest.mark.parametrize("key", sorted(UPDATES))
def test_each_update_is_valid(key: str) -> None:
    assert_valid_checkpoint_request(to_wire(_request(UPDATES[key]), timestamps="datetime"))


def test_a_full_batch_with_client_token_is_valid() -> None:
    request = _request(*UPDATES.values(), client_token="2f1e0a9b-8c7d-4e7b-9c3d-0b9f1c2e4d5a")
    assert_valid_checkpoint_request(to_wire(request, timestamps="datetime"))


def test_an_empty_checkpoint_is_valid() -> None:
    assert_valid_checkpoint_request(to_wire(_request(), timestamps="datetime"))


def test_the_checker_accepts_the_dataclass_itself() -> None:
    assert_valid_checkpoint_request(_request(UPDATES["step-start"]))


def test_every_type_and_every_action_is_covered() -> None:
    shape = operation_model("CheckpointDurableExecution").input_shape.members["Updates"].member
    assert {u.type.value for u in UPDATES.values()} == set(shape.members["Type"].enum)
    assert {u.action.value for u in UPDATES.values()} == set(shape.members["Action"].enum)


def test_wire_enums_equal_the_model_enums() -> None:
    shape = operation_model("CheckpointDurableExecution").input_shape.members["Updates"].member
    assert [t.value for t in OperationType] == shape.members["Type"].enum
    assert [a.value for a in OperationAction] == shape.members["Action"].enum


def test_update_members_are_model_members() -> None:
    """Every member the codec can write exists in the model (no invented keys)."""
    shape = operation_model("CheckpointDurableExecution").input_shape.members["Updates"].member
    full = OperationUpdate(
        id="1",
        type=S.STEP,
        action=A.START,
        parent_id="p",
        name="n",
        sub_type="Step",
        payload="",
        error=ERROR,
        context_options=ContextOptions(replay_children=False),
        step_options=StepOptions(1),
        wait_options=WaitOptions(1),
        callback_options=CallbackOptions(1, 1),
        chained_invoke_options=ChainedInvokeOptions("f", "t", "x"),
    )
    encoded = to_wire(full, timestamps="datetime")
    assert set(encoded) == set(shape.members)
    for key, value in encoded.items():
        if isinstance(value, dict):
            assert set(value) <= set(shape.members[key].members), key


@pytest.mark.parametrize(
    ("update", "fragment"),
    [
        (OperationUpdate(id="x" * 65, type=S.STEP, action=A.START), "Updates[0].Id: length 65 > max 64"),
        (OperationUpdate(id="a b", type=S.STEP, action=A.START), "Updates[0].Id"),
        (OperationUpdate(id="1", type=S.STEP, action=A.START, name="é"), "Updates[0].Name"),
        (OperationUpdate(id="1", type=S.STEP, action=A.START, name="n" * 257), "length 257 > max 256"),
        (OperationUpdate(id="1", type=S.STEP, action=A.START, sub_type="S" * 33), "Updates[0].SubType"),
        (
            OperationUpdate(id="1", type=S.WAIT, action=A.START, wait_options=WaitOptions(wait_seconds=0)),
            "WaitSeconds",
        ),
        (
            OperationUpdate(
                id="1",
                type=S.STEP,
                action=A.RETRY,
                step_options=StepOptions(next_attempt_delay_seconds=31_622_401),
            ),
            "NextAttemptDelaySeconds: 31622401 > max 31622400",
        ),
    ],
)
def test_the_checker_catches_drift(update: OperationUpdate, fragment: str) -> None:
    errors = wire_errors("CheckpointDurableExecution", _request(update))
    assert any(fragment in e for e in errors), errors


def test_the_checker_catches_unknown_enums_and_missing_members() -> None:
    raw = to_wire(_request(UPDATES["step-start"]), timestamps="datetime")
    raw["Updates"][0]["Type"] = "TIMER"
    del raw["CheckpointToken"]
    errors = wire_errors("CheckpointDurableExecution", raw)
    assert any("'TIMER' is not one of" in e for e in errors), errors
    assert any("CheckpointToken" in e for e in errors), errors


def test_a_non_aws_arn_is_refused() -> None:
    raw = to_wire(_request(), timestamps="datetime")
    raw["DurableExecutionArn"] = "3f2a/inv-1"
    assert any("DurableExecutionArn" in e for e in wire_errors("CheckpointDurableExecution", raw))


# ------------------------------------------- every request the SDK sends, end to end


class _RecordingClient:
    """A `DurableServiceClient` that forwards to the engine and keeps every request."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests: list[Any] = []

    def checkpoint_durable_execution(self, request: Any) -> Any:
        self.requests.append(request)
        return self.inner.checkpoint_durable_execution(request)

    def get_durable_execution_state(self, request: Any) -> Any:
        self.requests.append(request)
        return self.inner.get_durable_execution_state(request)


def test_every_request_of_the_order_example_is_valid() -> None:
    """Run examples/order.py on the engine; validate each request the SDK sent."""
    engine_mod = pytest.importorskip("perdure.engine")
    inprocess = pytest.importorskip("perdure.link.inprocess")
    target = pytest.importorskip("perdure.link.target")
    root = Path(__file__).resolve().parent.parent
    handler = target.load_target(f"{root / 'examples' / 'order.py'}:handler")
    with engine_mod.Engine.in_memory() as engine:
        client = _RecordingClient(engine.service)
        engine.register_function("orders", inprocess.InProcessInvocable(handler, client))
        arn = engine.start_execution("orders", json.dumps({"order_id": "o-1", "items": ["book"]}), "o-1")
        assert engine.drive(arn).status.value == "SUCCEEDED"
    checkpoints = [r for r in client.requests if isinstance(r, CheckpointDurableExecutionRequest)]
    assert checkpoints
    seen = {(u.type.value, u.action.value) for r in checkpoints for u in r.updates}
    assert {("STEP", "START"), ("STEP", "RETRY"), ("STEP", "SUCCEED"), ("WAIT", "START")} <= seen
    for request in checkpoints:
        assert_valid_checkpoint_request(request)
    for request in client.requests:
        if not isinstance(request, CheckpointDurableExecutionRequest):
            assert_valid_input("GetDurableExecutionState", request)
