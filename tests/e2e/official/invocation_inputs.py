"""Invocation inputs and service responses, and whether an SDK accepts them.

The table is shared by both sides: `tests/e2e/test_invocation_inputs.py` runs every case
through perdure's SDK, and runs this file in the official SDK 3.0's virtualenv (as a script:
`python invocation_inputs.py` prints `{case: "accepts" | "refuses"}` as JSON) to check the
`official` column against the official SDK itself.

"Accepts" means, for an invocation input, that the handler ran and the invocation
SUCCEEDED (a service whose calls succeed stands behind the SDK's boto3 client); for a
`CheckpointDurableExecution` or `GetDurableExecutionState` response, that the SDK's client
returned it. Timestamps are epoch milliseconds in the event and numbers (boto3's datetimes
in shape only) in responses. Standard library only.
"""

from __future__ import annotations

import copy
import json
from typing import Any

ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST/durable-execution/run/inv-1"
EXECUTION = {
    "Id": "inv-1",
    "Type": "EXECUTION",
    "Status": "STARTED",
    "StartTimestamp": 1_700_000_000_000,
    "ExecutionDetails": {"InputPayload": '{"x": 1}'},
}
STEP = {
    "Id": "s1",
    "Type": "STEP",
    "Status": "SUCCEEDED",
    "StartTimestamp": 1_700_000_000_000,
    "StepDetails": {"Attempt": 1, "Result": "1"},
}
CALLBACK = {"Id": "c1", "Type": "CALLBACK", "Status": "STARTED", "StartTimestamp": 1_700_000_000_000}
DROP = object()


def _edit(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if value is DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def event(**changes: Any) -> dict[str, Any]:
    """The base event (an EXECUTION and a STEP operation), with members changed or dropped."""
    base = {
        "DurableExecutionArn": ARN,
        "CheckpointToken": "token-1",
        "InitialExecutionState": {"Operations": [EXECUTION, STEP]},
    }
    return _edit(copy.deepcopy(base), changes)


def step(**changes: Any) -> dict[str, Any]:
    """The base event with members of its STEP operation changed or dropped."""
    ev = event()
    _edit(ev["InitialExecutionState"]["Operations"][1], changes)
    return ev


def execution(**changes: Any) -> dict[str, Any]:
    """The base event with members of its EXECUTION operation changed or dropped."""
    ev = event()
    _edit(ev["InitialExecutionState"]["Operations"][0], changes)
    return ev


def callback(**details: Any) -> dict[str, Any]:
    """The base event with a CALLBACK operation whose `CallbackDetails` are `details`."""
    ev = event()
    ev["InitialExecutionState"]["Operations"][1] = {**CALLBACK, "CallbackDetails": details}
    return ev


A, R = "accepts", "refuses"

# (case, invocation input, the official SDK's verdict, what perdure's error names, or None
# where perdure accepts)
INVOCATION_INPUTS: list[tuple[str, Any, str, str | None]] = [
    ("a full event", event(), A, None),
    ("CheckpointToken null", event(CheckpointToken=None), A, None),
    ("CheckpointToken empty", event(CheckpointToken=""), A, None),
    ("CheckpointToken missing", event(CheckpointToken=DROP), R, "missing required member(s) CheckpointToken"),
    ("DurableExecutionArn not an ARN", event(DurableExecutionArn="exec-1/run-2"), A, None),
    ("DurableExecutionArn empty", event(DurableExecutionArn=""), A, None),
    ("DurableExecutionArn null", event(DurableExecutionArn=None), R, "DurableExecutionArn (null)"),
    ("DurableExecutionArn missing", event(DurableExecutionArn=DROP), R, "member(s) DurableExecutionArn"),
    ("InitialExecutionState missing", event(InitialExecutionState=DROP), A, None),
    ("InitialExecutionState empty", event(InitialExecutionState={}), A, None),
    (
        "InitialExecutionState null",
        event(InitialExecutionState=None),
        R,
        "InitialExecutionState: may be absent",
    ),
    ("Operations null", event(InitialExecutionState={"Operations": None}), A, None),
    ("Operations empty", event(InitialExecutionState={"Operations": []}), A, None),
    (
        "NextMarker null",
        event(InitialExecutionState={"Operations": [EXECUTION], "NextMarker": None}),
        A,
        None,
    ),
    ("NextMarker empty", event(InitialExecutionState={"Operations": [EXECUTION], "NextMarker": ""}), A, None),
    ("UpdatedOperationIds", event(UpdatedOperationIds=["s1"]), A, None),
    ("UpdatedOperationIds empty", event(UpdatedOperationIds=[]), A, None),
    ("UpdatedOperationIds null", event(UpdatedOperationIds=None), R, "UpdatedOperationIds: may be absent"),
    ("EXECUTION without StartTimestamp", execution(StartTimestamp=DROP), A, None),
    ("EXECUTION with StartTimestamp null", execution(StartTimestamp=None), A, None),
    ("STEP without StartTimestamp", step(StartTimestamp=DROP), A, None),
    ("StartTimestamp 0", step(StartTimestamp=0), A, None),
    ("StartTimestamp as text", step(StartTimestamp="2024-01-01T00:00:00Z"), R, "epoch milliseconds"),
    ("EXECUTION without ExecutionDetails", execution(ExecutionDetails=DROP), A, None),
    ("ExecutionDetails empty", execution(ExecutionDetails={}), A, None),
    ("InputPayload null", execution(ExecutionDetails={"InputPayload": None}), A, None),
    ("EndTimestamp, Name null, SubType empty", step(EndTimestamp=None, Name=None, SubType=""), A, None),
    ("StepDetails empty", step(StepDetails={}), A, None),
    ("Attempt missing", step(StepDetails={"Result": "1"}), A, None),
    ("Attempt null", step(StepDetails={"Attempt": None, "Result": "1"}), A, None),
    ("NextAttemptTimestamp null", step(StepDetails={"Attempt": 1, "NextAttemptTimestamp": None}), A, None),
    ("Error empty", step(Status="FAILED", StepDetails={"Attempt": 1, "Error": {}}), A, None),
    (
        "StackTrace null",
        step(Status="FAILED", StepDetails={"Error": {"ErrorMessage": "m", "StackTrace": None}}),
        A,
        None,
    ),
    (
        "ReplayChildren null",
        step(Type="CONTEXT", StepDetails=DROP, ContextDetails={"ReplayChildren": None}),
        A,
        None,
    ),
    ("CallbackDetails empty", callback(), A, None),
    ("CallbackId null", callback(CallbackId=None), A, None),
    ("CallbackDetails without CallbackId", callback(Result="x"), R, "member(s) CallbackId"),
    ("operation Id missing", step(Id=DROP), R, "member(s) Id"),
    # The official SDK keeps an operation whose Id is null, which nothing can address;
    # perdure's operations always have an id.
    ("operation Id null", step(Id=None), A, "member(s) Id (null)"),
    ("operation Type missing", step(Type=DROP), R, "member(s) Type"),
    ("operation Type unknown", step(Type="NOPE"), R, "'NOPE' is not one of"),
    ("operation Status missing", step(Status=DROP), R, "member(s) Status"),
    ("operation Status unknown", step(Status="NOPE"), R, "'NOPE' is not one of"),
    ("an event that is a list", [], R, "expected the durable-execution event object"),
    ("an event that is text", "x", R, "expected the durable-execution event object"),
]

OPERATION = {"Id": "s1", "Type": "STEP", "Status": "SUCCEEDED", "StartTimestamp": 1_700_000_000}
CHECKPOINT_RESPONSES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("a full response", {"CheckpointToken": "t2", "NewExecutionState": {"Operations": [OPERATION]}}, A, None),
    ("NewExecutionState missing", {"CheckpointToken": "t2"}, A, None),
    ("NewExecutionState empty", {"CheckpointToken": "t2", "NewExecutionState": {}}, A, None),
    ("NewExecutionState null", {"CheckpointToken": "t2", "NewExecutionState": None}, A, None),
    (
        "Operations null, NextMarker null",
        {"NewExecutionState": {"Operations": None, "NextMarker": None}},
        A,
        None,
    ),
    ("CheckpointToken missing (the last checkpoint)", {"NewExecutionState": {"Operations": []}}, A, None),
    ("CheckpointToken null", {"CheckpointToken": None, "NewExecutionState": {}}, A, None),
    (
        "an operation without StartTimestamp",
        {"NewExecutionState": {"Operations": [{**OPERATION, "StartTimestamp": None}]}},
        A,
        None,
    ),
    (
        "an operation without Id",
        {"NewExecutionState": {"Operations": [{"Type": "STEP", "Status": "STARTED"}]}},
        R,
        "member(s) Id",
    ),
    (
        "an operation of an unknown Type",
        {"NewExecutionState": {"Operations": [{**OPERATION, "Type": "NOPE"}]}},
        R,
        "'NOPE' is not one of",
    ),
]
STATE_RESPONSES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("a full response", {"Operations": [OPERATION], "NextMarker": "m"}, A, None),
    ("Operations missing", {}, A, None),
    ("Operations null", {"Operations": None, "NextMarker": None}, A, None),
    ("an operation without StartTimestamp", {"Operations": [{**OPERATION, "StartTimestamp": None}]}, A, None),
    ("an operation without Status", {"Operations": [{"Id": "s1", "Type": "STEP"}]}, R, "member(s) Status"),
    (
        "a CALLBACK without CallbackId",
        {"Operations": [{**CALLBACK, "StartTimestamp": 1_700_000_000, "CallbackDetails": {"Result": "x"}}]},
        R,
        "member(s) CallbackId",
    ),
]


class Boto3Lambda:
    """A boto3 ``lambda`` client whose calls answer `checkpoint` and `state`."""

    def __init__(self, checkpoint: Any = None, state: Any = None) -> None:
        self.checkpoint = checkpoint or {"CheckpointToken": "t2", "NewExecutionState": {"Operations": []}}
        self.state = state or {"Operations": []}

    def checkpoint_durable_execution(self, **_: Any) -> Any:
        return copy.deepcopy(self.checkpoint)

    def get_durable_execution_state(self, **_: Any) -> Any:
        return copy.deepcopy(self.state)


def official_verdicts() -> dict[str, str]:  # pragma: no cover - runs in the official SDK's venv
    """Every case through the official SDK 3.0: its durable handler and its Lambda client."""
    from aws_durable_execution_sdk_python import durable_execution
    from aws_durable_execution_sdk_python.lambda_service import LambdaClient

    ran: list[Any] = []

    @durable_execution(boto3_client=Boto3Lambda())
    def handler(event: Any, context: Any) -> str:
        ran.append(event)
        return "ok"

    verdicts: dict[str, str] = {}
    for name, ev, *_ in INVOCATION_INPUTS:
        ran.clear()
        try:
            ok = handler(ev, None).get("Status") == "SUCCEEDED" and bool(ran)
        except Exception:
            ok = False
        verdicts[f"input: {name}"] = A if ok else R
    for name, response, *_ in CHECKPOINT_RESPONSES:
        try:
            LambdaClient(Boto3Lambda(checkpoint=response)).checkpoint(ARN, "t", [], None)
            verdicts[f"checkpoint: {name}"] = A
        except Exception:
            verdicts[f"checkpoint: {name}"] = R
    for name, response, *_ in STATE_RESPONSES:
        try:
            LambdaClient(Boto3Lambda(state=response)).get_execution_state(ARN, "t", "m")
            verdicts[f"state: {name}"] = A
        except Exception:
            verdicts[f"state: {name}"] = R
    return verdicts


if __name__ == "__main__":  # pragma: no cover
    import logging

    logging.disable(logging.CRITICAL)  # the official SDK logs each refusal with its traceback
    print(json.dumps(official_verdicts()))
