"""The codec on concrete AWS JSON: member names, timestamp forms, history details, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from perdure.wire.codec import dumps, from_wire, loads, member_name, to_wire
from perdure.wire.types import (
    ChainedInvokeOptions,
    CheckpointDurableExecutionRequest,
    ErrorObject,
    Event,
    EventDetails,
    EventResult,
    EventType,
    GetDurableExecutionStateRequest,
    InvocationInput,
    InvocationOutput,
    InvocationStatus,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    RetryDetails,
    SendDurableExecutionCallbackSuccessRequest,
    StepDetails,
    StepOptions,
    StopDurableExecutionRequest,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST/durable-execution/o-1/inv-1"
T0 = datetime(2025, 12, 1, 12, 0, 0, 123000, tzinfo=UTC)
T0_MS = 1764590400123

# An invocation event as the service sends it (epoch-millisecond timestamps).
EVENT = {
    "DurableExecutionArn": ARN,
    "CheckpointToken": "dG9rZW4=",
    "InitialExecutionState": {
        "Operations": [
            {
                "Id": "inv-1",
                "Type": "EXECUTION",
                "Status": "STARTED",
                "StartTimestamp": T0_MS,
                "ExecutionDetails": {"InputPayload": '{"order_id": "o-1"}'},
            },
            {
                "Id": "c4ca4238a0b92382",
                "Type": "STEP",
                "SubType": "Step",
                "Name": "charge",
                "Status": "PENDING",
                "StartTimestamp": T0_MS,
                "StepDetails": {"Attempt": 1, "NextAttemptTimestamp": T0_MS + 2000},
            },
        ],
        "NextMarker": "",
    },
}


def test_member_names() -> None:
    assert member_name("durable_execution_arn") == "DurableExecutionArn"
    assert member_name("id") == "Id"
    assert member_name("x_amzn_trace_id") == "XAmznTraceId"


def test_decodes_the_invocation_event() -> None:
    value = from_wire(InvocationInput, EVENT, timestamps="epoch_millis")
    execution, step = value.initial_execution_state.operations
    assert execution.type is OperationType.EXECUTION
    assert execution.start_timestamp == T0
    assert execution.execution_details is not None
    assert execution.execution_details.input_payload == '{"order_id": "o-1"}'
    assert step.status is OperationStatus.PENDING
    assert step.step_details == StepDetails(
        attempt=1, next_attempt_timestamp=datetime.fromtimestamp((T0_MS + 2000) / 1000, UTC)
    )
    assert value.updated_operation_ids == ()


def test_invocation_event_round_trips_to_the_same_json() -> None:
    value = from_wire(InvocationInput, EVENT, timestamps="epoch_millis")
    again = to_wire(value, timestamps="epoch_millis")
    assert again["InitialExecutionState"]["Operations"] == EVENT["InitialExecutionState"]["Operations"]  # type: ignore[index]


def test_timestamp_forms() -> None:
    op = Operation(id="1", type=OperationType.WAIT, status=OperationStatus.STARTED, start_timestamp=T0)
    assert to_wire(op, timestamps="epoch_millis")["StartTimestamp"] == T0_MS
    assert to_wire(op, timestamps="epoch_seconds")["StartTimestamp"] == pytest.approx(T0_MS / 1000)
    assert to_wire(op, timestamps="datetime")["StartTimestamp"] is T0


def test_decodes_iso_and_naive_datetimes_as_utc() -> None:
    raw = {"Id": "1", "Type": "WAIT", "Status": "STARTED", "StartTimestamp": "2025-12-01T12:00:00.123Z"}
    assert from_wire(Operation, raw).start_timestamp == T0
    raw["StartTimestamp"] = datetime(2025, 12, 1, 12, 0, 0, 123000)  # type: ignore[assignment]
    assert from_wire(Operation, raw, timestamps="datetime").start_timestamp == T0


def test_none_members_are_omitted_and_empty_strings_kept() -> None:
    update = OperationUpdate(id="1", type=OperationType.STEP, action=OperationAction.SUCCEED, payload="")
    assert to_wire(update) == {"Id": "1", "Type": "STEP", "Action": "SUCCEED", "Payload": ""}


def test_nested_options_and_trace_id() -> None:
    update = OperationUpdate(
        id="1",
        type=OperationType.CHAINED_INVOKE,
        action=OperationAction.START,
        chained_invoke_options=ChainedInvokeOptions("notify", x_amzn_trace_id="Root=1"),
        step_options=StepOptions(next_attempt_delay_seconds=3),
    )
    wire = to_wire(update)
    assert wire["ChainedInvokeOptions"] == {"FunctionName": "notify", "XAmznTraceId": "Root=1"}
    assert wire["StepOptions"] == {"NextAttemptDelaySeconds": 3}


def test_error_object_stack_trace_is_a_list() -> None:
    error = ErrorObject(error_message="boom", error_type="ValueError", stack_trace=("a", "b"))
    assert to_wire(error) == {"ErrorMessage": "boom", "ErrorType": "ValueError", "StackTrace": ["a", "b"]}
    assert from_wire(ErrorObject, {"ErrorMessage": "boom", "StackTrace": ["a"]}).stack_trace == ("a",)


def test_invocation_output() -> None:
    out = InvocationOutput(status=InvocationStatus.SUCCEEDED, result='{"ok": 1}')
    assert to_wire(out) == {"Status": "SUCCEEDED", "Result": '{"ok": 1}'}
    assert from_wire(InvocationOutput, {"Status": "PENDING"}) == InvocationOutput(InvocationStatus.PENDING)


def test_bytes_travel_as_base64() -> None:
    request = SendDurableExecutionCallbackSuccessRequest(callback_id="cb", result=b'"approved"')
    wire = to_wire(request)
    assert wire["Result"] == "ImFwcHJvdmVkIg=="
    assert from_wire(SendDurableExecutionCallbackSuccessRequest, wire) == request


# ------------------------------------------------------------------------- history


def test_history_event_details_key_and_exact_members() -> None:
    started = Event(event_type=EventType.STEP_STARTED, event_id=2, event_timestamp=T0, id="1", name="charge")
    assert to_wire(started, timestamps="epoch_millis") == {
        "EventType": "StepStarted",
        "EventId": 2,
        "EventTimestamp": T0_MS,
        "Id": "1",
        "Name": "charge",
        "StepStartedDetails": {},
    }
    succeeded = Event(
        event_type=EventType.STEP_SUCCEEDED,
        event_id=3,
        event_timestamp=T0,
        id="1",
        details=EventDetails(
            result=EventResult(payload="1", truncated=False),
            retry_details=RetryDetails(current_attempt=1),
            callback_id="ignored: not a StepSucceeded member",
        ),
    )
    wire = to_wire(succeeded)
    assert wire["StepSucceededDetails"] == {
        "Result": {"Payload": "1", "Truncated": False},
        "RetryDetails": {"CurrentAttempt": 1},
    }


def test_history_event_decodes_its_details() -> None:
    raw = {
        "EventType": "WaitStarted",
        "EventId": 4,
        "EventTimestamp": T0_MS / 1000,
        "Id": "w",
        "WaitStartedDetails": {"Duration": 5, "ScheduledEndTimestamp": T0_MS / 1000 + 5},
    }
    event = from_wire(Event, raw)
    assert event.details.duration == 5
    assert event.details.scheduled_end_timestamp is not None
    assert (event.details.scheduled_end_timestamp - event.event_timestamp).total_seconds() == pytest.approx(5)


def test_every_event_type_has_a_details_key() -> None:
    for event_type in EventType:
        assert event_type.details_key == f"{event_type.value}Details"
        event = Event(event_type=event_type, event_id=1, event_timestamp=T0)
        assert event_type.details_key in to_wire(event)


# -------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"Type": "STEP", "Status": "STARTED", "StartTimestamp": 1},
            "Operation: missing required member(s) Id",
        ),
        (
            {"Id": "1", "Type": "TIMER", "Status": "STARTED", "StartTimestamp": 1},
            "Operation.Type: 'TIMER' is not one of EXECUTION, CONTEXT, STEP, WAIT, CALLBACK, CHAINED_INVOKE",
        ),
        (
            {"Id": "1", "Type": "STEP", "Status": "STARTED", "StartTimestamp": "soon"},
            "Operation.StartTimestamp: 'soon' is not a timestamp",
        ),
        (
            # beyond the platform's time_t, where datetime raises OSError
            {"Id": "1", "Type": "STEP", "Status": "STARTED", "StartTimestamp": "1e18"},
            "Operation.StartTimestamp: '1e18' is not a timestamp",
        ),
        (
            {"Id": "1", "Type": "STEP", "Status": "STARTED", "StartTimestamp": 1, "StepDetails": []},
            "Operation.StepDetails: expected an object, got list",
        ),
        ([], "Operation: expected an object, got list"),
    ],
)
def test_decode_errors_name_the_member(data: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        from_wire(Operation, data)
    assert str(info.value) == message


def test_decode_error_paths_reach_into_lists() -> None:
    bad = {
        "DurableExecutionArn": ARN,
        "CheckpointToken": "t",
        "InitialExecutionState": {
            "Operations": [{"Id": "1", "Type": "STEP", "Status": "NOPE", "StartTimestamp": 1}]
        },
    }
    with pytest.raises(
        ValueError, match=r"InvocationInput\.InitialExecutionState\.Operations\[0\]\.Status: 'NOPE'"
    ):
        from_wire(InvocationInput, bad)
    with pytest.raises(ValueError, match=r"Operations: expected a list, got str"):
        from_wire(
            InvocationInput,
            {
                "DurableExecutionArn": ARN,
                "CheckpointToken": "t",
                "InitialExecutionState": {"Operations": "x"},
            },
        )


def test_custom_path_label() -> None:
    with pytest.raises(ValueError, match=r"^event: expected an object, got str$"):
        from_wire(InvocationInput, "x", path="event")


def test_loads_rejects_bad_json_naming_the_type() -> None:
    with pytest.raises(ValueError, match=r"^InvocationOutput: not valid JSON"):
        loads(InvocationOutput, "{nope")


def test_dumps_is_compact_and_keeps_unicode() -> None:
    out = InvocationOutput(status=InvocationStatus.SUCCEEDED, result="žluť")
    assert dumps(out) == '{"Status":"SUCCEEDED","Result":"žluť"}'
    assert loads(InvocationOutput, dumps(out)) == out


_UPDATE = {"Id": "s1", "Type": "STEP", "Action": "START"}


def _checkpoint(**update: object) -> dict[str, object]:
    return {"DurableExecutionArn": ARN, "CheckpointToken": "t", "Updates": [{**_UPDATE, **update}]}


@pytest.mark.parametrize(
    ("cls", "data", "message"),
    [
        (
            CheckpointDurableExecutionRequest,
            {"DurableExecutionArn": ARN, "CheckpointToken": "t", "ClientToken": 5},
            "ClientToken: expected a string, got a number",
        ),
        (
            CheckpointDurableExecutionRequest,
            _checkpoint(Id={"a": 1}),
            "Updates[0].Id: expected a string, got an object",
        ),
        (
            CheckpointDurableExecutionRequest,
            _checkpoint(Payload=5),
            "Updates[0].Payload: expected a string, got a number",
        ),
        (
            CheckpointDurableExecutionRequest,
            _checkpoint(Action="RETRY", StepOptions={"NextAttemptDelaySeconds": 1.5}),
            "Updates[0].StepOptions.NextAttemptDelaySeconds: expected an integer, got a number",
        ),
        (
            CheckpointDurableExecutionRequest,
            _checkpoint(Type="CALLBACK", CallbackOptions={"TimeoutSeconds": True}),
            "Updates[0].CallbackOptions.TimeoutSeconds: expected an integer, got a boolean",
        ),
        (
            CheckpointDurableExecutionRequest,
            _checkpoint(Action="FAIL", Error={"ErrorMessage": {"nested": "object"}}),
            "Updates[0].Error.ErrorMessage: expected a string, got an object",
        ),
        (
            CheckpointDurableExecutionRequest,
            _checkpoint(Action="FAIL", Error={"StackTrace": ["ok", 3]}),
            "Updates[0].Error.StackTrace[1]: expected a string, got a number",
        ),
        (
            CheckpointDurableExecutionRequest,
            _checkpoint(Type="CONTEXT", ContextOptions={"ReplayChildren": "yes"}),
            "Updates[0].ContextOptions.ReplayChildren: expected a boolean, got a string",
        ),
        (
            StopDurableExecutionRequest,
            {"DurableExecutionArn": ARN, "Error": {"ErrorType": ["x"]}},
            "Error.ErrorType: expected a string, got a list",
        ),
        (
            GetDurableExecutionStateRequest,
            {"DurableExecutionArn": ARN, "CheckpointToken": "t", "Marker": 7},
            "Marker: expected a string, got a number",
        ),
        (
            SendDurableExecutionCallbackSuccessRequest,
            {"CallbackId": "c", "Result": 12},
            "Result: expected base64 text, got a number",
        ),
        (
            SendDurableExecutionCallbackSuccessRequest,
            {"CallbackId": "c", "Result": "abc"},
            "Result: 'abc' is not base64",
        ),
    ],
)
def test_a_member_of_the_wrong_json_type_is_refused_naming_it(cls: type, data: object, message: str) -> None:
    """Wrong JSON types stop at decoding (`ValueError`, which the HTTP API and the process link
    answer as InvalidParameterValueException): the service never sees them as if they were right."""
    with pytest.raises(ValueError) as info:
        from_wire(cls, data)
    assert str(info.value) == f"{cls.__name__}.{message}"


def test_integers_and_booleans_of_the_right_type_decode() -> None:
    request = from_wire(
        CheckpointDurableExecutionRequest,
        _checkpoint(Type="CONTEXT", Action="SUCCEED", ContextOptions={"ReplayChildren": False}),
    )
    assert request.updates[0].context_options is not None
    assert request.updates[0].context_options.replay_children is False
    wait = from_wire(
        CheckpointDurableExecutionRequest, _checkpoint(Type="WAIT", WaitOptions={"WaitSeconds": 0})
    )
    assert wait.updates[0].wait_options is not None and wait.updates[0].wait_options.wait_seconds == 0
