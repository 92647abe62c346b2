"""CALLBACK in the engine: ids, completion, timeouts, heartbeats, refusals and re-invocation."""

from __future__ import annotations

import base64
import re
import threading
from datetime import timedelta

import pytest

from perdure.engine import Engine, EngineStalledError
from perdure.wire.errors import CallbackTimeoutServiceError, InvalidParameterValueError, ResourceNotFoundError
from perdure.wire.limits import MAX_OPERATION_PAYLOAD_BYTES
from perdure.wire.types import (
    CallbackOptions,
    ErrorObject,
    Event,
    EventType,
    ExecutionStatus,
    InvocationOutput,
    InvocationStatus,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    SendDurableExecutionCallbackFailureRequest,
    SendDurableExecutionCallbackHeartbeatRequest,
    SendDurableExecutionCallbackSuccessRequest,
    StopDurableExecutionRequest,
)

from .fakes import PENDING, Recorder, Session, event_types, succeeded, wait_start

CALLBACK_ID_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def cb_start(
    op_id: str = "cb", timeout: int = 0, heartbeat: int = 0, name: str | None = None
) -> OperationUpdate:
    return OperationUpdate(
        id=op_id,
        type=OperationType.CALLBACK,
        action=OperationAction.START,
        sub_type="Callback",
        name=name,
        callback_options=CallbackOptions(timeout_seconds=timeout, heartbeat_timeout_seconds=heartbeat),
    )


def callback_flow(engine: Engine, *first: OperationUpdate) -> Recorder:
    """Checkpoints `first` (default: one callback "cb") once, then ends with the callback's outcome."""

    def body(s: Session) -> InvocationOutput:
        if "cb" not in s.ops:
            s.cp(*(first or (cb_start(),)))
        op = s.ops["cb"]
        waiting = any(
            o.status is OperationStatus.STARTED for o in s.ops.values() if o.type is OperationType.WAIT
        )
        if waiting or op.status is OperationStatus.STARTED:
            return PENDING
        if op.status is OperationStatus.SUCCEEDED:
            return succeeded(op.callback_details.result if op.callback_details else None)
        error = op.callback_details.error if op.callback_details else None
        return InvocationOutput(status=InvocationStatus.FAILED, error=error)

    return Recorder(engine, body)


def started(engine: Engine, *first: OperationUpdate) -> tuple[str, str, Recorder]:
    """A fresh execution suspended on its callback: (arn, callback id, recorder)."""
    recorder = callback_flow(engine, *first)
    engine.register_function("fn", recorder)
    arn = engine.start_execution("fn", None)
    engine.run_until_idle()
    return arn, callback_id(engine, arn), recorder


def callback_id(engine: Engine, arn: str, op_id: str = "cb") -> str:
    (event,) = [
        e for e in engine.history(arn) if e.event_type is EventType.CALLBACK_STARTED and e.id == op_id
    ]
    assert event.details.callback_id is not None
    return event.details.callback_id


def last(engine: Engine, arn: str, event_type: EventType) -> Event:
    return [e for e in engine.history(arn) if e.event_type is event_type][-1]


def success(engine: Engine, cid: str, result: bytes | None = b'"yes"') -> None:
    engine.service.send_durable_execution_callback_success(
        SendDurableExecutionCallbackSuccessRequest(cid, result)
    )


# --------------------------------------------------------------------------- ids


def test_start_issues_an_unguessable_id_bound_to_the_execution(engine: Engine) -> None:
    arn, cid, recorder = started(engine, cb_start(timeout=30, heartbeat=10, name="approval"))
    assert CALLBACK_ID_RE.fullmatch(cid) and len(cid) <= 1024
    event = last(engine, arn, EventType.CALLBACK_STARTED)
    assert (event.name, event.sub_type, event.details.timeout, event.details.heartbeat_timeout) == (
        "approval",
        "Callback",
        30,
        10,
    )
    assert engine.get_execution(arn).status is ExecutionStatus.RUNNING and len(recorder.inputs) == 1
    # the id is on the operation the SDK sees, and 128 random bits make every id distinct
    arn2 = engine.start_execution("fn", None, "second")
    engine.run_until_idle()
    assert callback_id(engine, arn2) != cid
    assert arn in base64.b64decode(cid).decode()


def test_no_timeout_means_no_timer_and_no_details(engine: Engine) -> None:
    arn, _, _ = started(engine)
    details = last(engine, arn, EventType.CALLBACK_STARTED).details
    assert details.timeout is None and details.heartbeat_timeout is None
    assert engine.next_due_time() is None


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ("", InvalidParameterValueError, "not a callback id"),
        ("not base64!", InvalidParameterValueError, "not a callback id"),
        (base64.b64encode(b"hello").decode(), InvalidParameterValueError, "not a callback id"),
        ("A" * 1025, InvalidParameterValueError, "not a callback id"),
        (base64.b64encode(b"1:x:0:cb:arn").decode(), ResourceNotFoundError, "names no callback"),
    ],
)
def test_a_malformed_or_unknown_id_is_refused(
    engine: Engine, bad: str, error: type[Exception], message: str
) -> None:
    arn, _, _ = started(engine)
    before = engine.history(arn)
    with pytest.raises(error, match=message):
        success(engine, bad)
    assert engine.history(arn) == before


def test_a_tampered_or_foreign_id_is_refused_and_changes_nothing(engine: Engine) -> None:
    arn, cid, _ = started(engine)
    other = engine.start_execution("fn", None, "other")
    engine.run_until_idle()
    version, secret, heartbeat, op_id, _ = base64.b64decode(cid).decode().split(":", 4)
    guessed = "0" * len(secret)
    forged = [
        base64.b64encode(f"{version}:{guessed}:{heartbeat}:{op_id}:{arn}".encode()).decode(),
        # the right secret pointed at another execution's callback of the same operation id
        base64.b64encode(f"{version}:{secret}:{heartbeat}:{op_id}:{other}".encode()).decode(),
        # a different heartbeat interval smuggled into a real id
        base64.b64encode(f"{version}:{secret}:999:{op_id}:{arn}".encode()).decode(),
    ]
    before = (engine.history(arn), engine.history(other))
    for bad in forged:
        with pytest.raises(ResourceNotFoundError, match="names no callback"):
            success(engine, bad)
        with pytest.raises(ResourceNotFoundError, match="names no callback"):
            engine.service.send_durable_execution_callback_heartbeat(
                SendDurableExecutionCallbackHeartbeatRequest(bad)
            )
    assert (engine.history(arn), engine.history(other)) == before


# -------------------------------------------------------------------- completing


def test_success_is_recorded_verbatim_and_reinvokes(engine: Engine) -> None:
    arn, cid, recorder = started(engine)
    success(engine, cid, b'{"ok": true, "name": "\xc3\xa9"}')
    engine.run_until_idle()
    event = last(engine, arn, EventType.CALLBACK_SUCCEEDED)
    assert event.details.result is not None and event.details.result.payload == '{"ok": true, "name": "é"}'
    assert recorder.inputs[1].updated_operation_ids == ("cb",)
    assert engine.get_execution(arn).result == '{"ok": true, "name": "é"}'
    assert event_types(engine, arn) == [
        "ExecutionStarted",
        "CallbackStarted",
        "InvocationCompleted",
        "CallbackSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]


def test_success_without_a_result(engine: Engine) -> None:
    arn, cid, _ = started(engine)
    success(engine, cid, None)
    engine.run_until_idle()
    details = last(engine, arn, EventType.CALLBACK_SUCCEEDED).details
    assert details.result is not None and details.result.payload is None
    assert engine.get_execution(arn).status is ExecutionStatus.SUCCEEDED


def test_failure_is_recorded_verbatim(engine: Engine) -> None:
    arn, cid, _ = started(engine)
    error = ErrorObject(error_message="not approved", error_type="RejectedError", error_data='{"by": "ann"}')
    engine.service.send_durable_execution_callback_failure(
        SendDurableExecutionCallbackFailureRequest(cid, error)
    )
    engine.run_until_idle()
    event = last(engine, arn, EventType.CALLBACK_FAILED)
    assert event.details.error is not None and event.details.error.payload == error
    assert engine.get_execution(arn).error == error


def test_a_result_over_256_kib_or_not_utf8_is_refused_and_changes_nothing(engine: Engine) -> None:
    arn, cid, _ = started(engine)
    before = engine.history(arn)
    with pytest.raises(InvalidParameterValueError, match="262144-byte callback result limit"):
        success(engine, cid, b"x" * (MAX_OPERATION_PAYLOAD_BYTES + 1))
    with pytest.raises(InvalidParameterValueError, match="UTF-8"):
        success(engine, cid, b"\xff")
    assert engine.history(arn) == before
    success(engine, cid, b"x" * MAX_OPERATION_PAYLOAD_BYTES)  # exactly the limit is fine


def test_a_second_completion_is_refused_and_changes_nothing(engine: Engine) -> None:
    arn, cid, _ = started(engine)
    success(engine, cid)
    engine.run_until_idle()
    before = engine.history(arn)
    with pytest.raises(CallbackTimeoutServiceError, match=r"already closed \(SUCCEEDED\)"):
        success(engine, cid)
    with pytest.raises(CallbackTimeoutServiceError, match=r"already closed \(SUCCEEDED\)"):
        engine.service.send_durable_execution_callback_failure(
            SendDurableExecutionCallbackFailureRequest(cid)
        )
    with pytest.raises(CallbackTimeoutServiceError, match=r"already closed \(SUCCEEDED\)"):
        engine.service.send_durable_execution_callback_heartbeat(
            SendDurableExecutionCallbackHeartbeatRequest(cid)
        )
    assert engine.history(arn) == before


def test_a_callback_of_a_stopped_execution_is_refused(engine: Engine) -> None:
    arn, cid, _ = started(engine)
    engine.service.stop_durable_execution(StopDurableExecutionRequest(arn))
    with pytest.raises(CallbackTimeoutServiceError, match="STOPPED, not RUNNING"):
        success(engine, cid)


# ---------------------------------------------------------------------- timeouts


def test_timeout_fires_at_its_time(engine: Engine) -> None:
    arn, cid, _ = started(engine, cb_start(timeout=5))
    begun = last(engine, arn, EventType.CALLBACK_STARTED).event_timestamp
    due = engine.next_due_time()
    assert due == begun + timedelta(seconds=5)
    engine.advance_to(due)
    engine.run_until_idle()
    event = last(engine, arn, EventType.CALLBACK_TIMED_OUT)
    assert event.event_timestamp == due
    assert event.details.error is not None and event.details.error.payload is not None
    assert event.details.error.payload.error_type == "Callback.Timeout"
    assert engine.get_execution(arn).status is ExecutionStatus.FAILED
    with pytest.raises(CallbackTimeoutServiceError, match="timed out"):
        success(engine, cid)


def test_heartbeats_reset_the_heartbeat_timeout(engine: Engine) -> None:
    arn, cid, _ = started(engine, cb_start(heartbeat=5))
    begun = last(engine, arn, EventType.CALLBACK_STARTED).event_timestamp
    heartbeat = SendDurableExecutionCallbackHeartbeatRequest(cid)
    for seconds in (4, 8, 12):
        engine.advance_to(begun + timedelta(seconds=seconds))
        engine.run_until_idle()
        engine.service.send_durable_execution_callback_heartbeat(heartbeat)
    assert "CallbackTimedOut" not in event_types(engine, arn)
    assert engine.next_due_time() == begun + timedelta(seconds=17)
    engine.advance_to(begun + timedelta(seconds=17))
    engine.run_until_idle()
    error = last(engine, arn, EventType.CALLBACK_TIMED_OUT).details.error
    assert (
        error is not None and error.payload is not None and error.payload.error_type == "Callback.Heartbeat"
    )
    with pytest.raises(CallbackTimeoutServiceError):
        engine.service.send_durable_execution_callback_heartbeat(heartbeat)


def test_completion_cancels_both_timers(engine: Engine) -> None:
    arn, cid, _ = started(engine, cb_start(timeout=50, heartbeat=5))
    success(engine, cid)
    engine.run_until_idle()
    assert engine.get_execution(arn).status is ExecutionStatus.SUCCEEDED
    assert engine.next_due_time() is None


# ----------------------------------------------------------------- re-invocation


def test_a_completion_reinvokes_even_when_the_handler_waits_on_something_else(engine: Engine) -> None:
    arn, cid, recorder = started(engine, cb_start(), wait_start("w", 10))
    success(engine, cid)
    engine.run_until_idle()
    assert len(recorder.inputs) == 2
    engine.advance_to(engine.next_due_time())  # type: ignore[arg-type]
    engine.run_until_idle()
    assert event_types(engine, arn) == [
        "ExecutionStarted",
        "CallbackStarted",
        "WaitStarted",
        "InvocationCompleted",
        "CallbackSucceeded",
        "InvocationCompleted",
        "WaitSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]


def test_a_completion_during_an_invocation_reaches_its_next_checkpoint(engine: Engine) -> None:
    seen: list[OperationStatus] = []

    def body(s: Session) -> InvocationOutput:
        if "cb" not in s.ops:
            s.cp(cb_start())
            cid = s.ops["cb"].callback_details.callback_id  # type: ignore[union-attr]
            assert cid is not None
            success(engine, cid)  # the external system answers while this invocation runs
            s.cp()  # an empty "refresh" checkpoint
            seen.append(s.ops["cb"].status)
            return PENDING
        return succeeded("1")

    recorder = Recorder(engine, body)
    engine.register_function("fn", recorder)
    arn = engine.start_execution("fn", None)
    engine.run_until_idle()
    assert seen == [OperationStatus.SUCCEEDED]
    # the transition still re-invokes once the invocation ends, as on AWS
    assert engine.get_execution(arn).status is ExecutionStatus.SUCCEEDED and len(recorder.inputs) == 2


# --------------------------------------------------------------------- checkpoint


@pytest.mark.parametrize(
    ("update", "rule"),
    [
        (cb_start(timeout=-1), "TimeoutSeconds=-1 is outside"),
        (cb_start(heartbeat=31_622_401), "HeartbeatTimeoutSeconds=31622401 is outside"),
        (
            OperationUpdate(
                id="cb", type=OperationType.CALLBACK, action=OperationAction.FAIL, sub_type="Callback"
            ),
            "accepts only START",
        ),
    ],
)
def test_bad_callback_updates_are_rejected(engine: Engine, update: OperationUpdate, rule: str) -> None:
    errors: list[str] = []

    def body(s: Session) -> InvocationOutput:
        try:
            s.cp(update)
        except InvalidParameterValueError as exc:
            errors.append(str(exc))
        return succeeded()

    engine.register_function("fn", Recorder(engine, body))
    engine.drive(engine.start_execution("fn", None))
    assert len(errors) == 1 and rule in errors[0]


def test_a_callback_starts_only_once(engine: Engine) -> None:
    errors: list[str] = []

    def body(s: Session) -> InvocationOutput:
        s.cp(cb_start())
        try:
            s.cp(cb_start())
        except InvalidParameterValueError as exc:
            errors.append(str(exc))
        return succeeded()

    engine.register_function("fn", Recorder(engine, body))
    engine.drive(engine.start_execution("fn", None))
    assert "already started" in errors[0]


# -------------------------------------------------------------------------- drive


def test_drive_on_the_virtual_clock_reports_a_callback_stall(engine: Engine) -> None:
    engine.register_function("fn", callback_flow(engine))
    arn = engine.start_execution("fn", None)
    with pytest.raises(EngineStalledError, match="waits for a callback"):
        engine.drive(arn)
    success(engine, callback_id(engine, arn))
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED


# ------------------------------------------------------------------ skipped time, served


def test_a_served_engine_on_skipped_time_never_jumps_to_a_callbacks_timeout() -> None:
    """`perdure serve --skip-time`: the background loop follows real time toward a callback's
    timeout (an hour here), so a client that answers it after it started is in time."""
    engine = Engine.in_memory(callbacks_in_real_time=True)
    try:
        engine.register_function("fn", callback_flow(engine, cb_start(timeout=3600, heartbeat=3600)))
        engine.start()
        arn = engine.start_execution("fn", None)
        finished = engine.when_finished(arn)
        pause = threading.Event()
        while EventType.CALLBACK_STARTED.value not in event_types(engine, arn) and not finished.done():
            pause.wait(0.05)
        success(engine, callback_id(engine, arn))
        assert finished.result(timeout=60) is ExecutionStatus.SUCCEEDED
        assert EventType.CALLBACK_TIMED_OUT.value not in event_types(engine, arn)
    finally:
        engine.close()
