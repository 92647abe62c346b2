"""The conformance driver loop on a fake backend (virtual time, callback actions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perdure.testing.conformance.driver import Driver, DriverError
from perdure.testing.conformance.requirement import Requirement, discover, load_requirement, select


class FakeBackend:
    """An execution scripted as: events appear at given virtual times; callbacks complete it."""

    def __init__(
        self, *, callbacks: list[str] = (), timer: float | None = None, finish_on: int | None = None
    ):
        self.t = 0.0
        self.events: list[dict] = [
            {"EventId": 1, "EventType": "ExecutionStarted", "ExecutionStartedDetails": {}}
        ]
        self.status = "RUNNING"
        self.sent: list[tuple[float, str, str]] = []
        self.callbacks = list(callbacks)
        self.timer = timer
        self.finish_on = finish_on
        self.payload = None

    def _add(self, event_type: str, **extra):
        self.events.append({"EventId": len(self.events) + 1, "EventType": event_type, **extra})

    def start(self, payload_json):
        self.payload = payload_json
        for index, name in enumerate(self.callbacks):
            self._add("CallbackStarted", Name=name, CallbackStartedDetails={"CallbackId": f"cb{index}"})
        self._add("InvocationCompleted", InvocationCompletedDetails={})
        if not self.callbacks and self.timer is None:
            self.status = "SUCCEEDED"
        return "arn:test"

    def run_until_idle(self, arn):
        if (
            self.finish_on is not None
            and len([s for s in self.sent if s[1] != "heartbeat"]) >= self.finish_on
        ):
            self.status = "SUCCEEDED"

    def next_due(self, arn):
        return self.timer

    def advance_to(self, when):
        self.t = when
        if self.timer is not None and when >= self.timer:
            self.timer = None
            self._add("WaitSucceeded", WaitSucceededDetails={})
            if not self.callbacks:
                self.status = "SUCCEEDED"

    def now(self):
        return self.t

    def history(self, arn):
        return list(self.events)

    def describe(self, arn):
        return self.status, '"ok"' if self.status == "SUCCEEDED" else None

    def callback_success(self, callback_id, result):
        self.sent.append((self.t, "success", callback_id, result))

    def callback_failure(self, callback_id, error):
        self.sent.append((self.t, "failure", callback_id, error))

    def callback_heartbeat(self, callback_id):
        self.sent.append((self.t, "heartbeat", callback_id))

    def logs(self, arn):
        return [{"message": "hello"}]


def _req(**data) -> Requirement:
    data.setdefault("ExpectedExecutionHistory", [{"EventId": 1, "EventType": "ExecutionStarted"}])
    return Requirement(id="x-1", path=Path("x-1.yaml"), data=data)


def test_sync_requirement_passes_and_substitutes_input():
    backend = FakeBackend()
    req = _req(
        Variables={"V": "${GEN_STR:4}"},
        Input={"a": "${V}"},
        ExpectedResult={"ExecutionStatus": "SUCCEEDED", "Result": "ok"},
    )
    driver = Driver(req, backend)
    assert driver.run() is None
    assert driver.ctx.get("V") in backend.payload


def test_failed_result_reports_first_mismatch():
    req = _req(ExpectedResult={"ExecutionStatus": "SUCCEEDED", "Result": "nope"})
    assert "expected 'nope'" in Driver(req, FakeBackend()).run()


def test_logs_are_checked_last():
    req = _req(ExpectedLogs=[{"match": {"message": "bye"}, "count": 1}])
    assert "0 matching records" in Driver(req, FakeBackend()).run()


def test_wait_timer_is_skipped():
    backend = FakeBackend(timer=3600.0)
    assert Driver(_req(ExpectedResult={"ExecutionStatus": "SUCCEEDED"}), backend).run() is None
    assert backend.t == 3600.0


def test_history_only_stops_when_events_match():
    backend = FakeBackend(timer=3600.0)
    req = _req(
        AsyncInvoke=True, ExpectedExecutionHistory=[{"EventId": 2, "EventType": "InvocationCompleted"}]
    )
    assert Driver(req, backend).run() is None
    assert backend.t == 0.0  # never waited the hour


def test_callback_actions_are_serialised_at_poll_time_plus_delay():
    backend = FakeBackend(callbacks=["A", "B"], finish_on=2)
    req = _req(
        AsyncInvoke=True,
        Variables={"P": "${GEN_STR:6}"},
        ExpectedResult={"ExecutionStatus": "SUCCEEDED"},
        CallbackActions=[
            {"CallbackName": "B", "Operation": "success", "Delay": 4, "Payload": "${P}"},
            {"CallbackName": "A", "Operation": "success", "Delay": 1, "Payload": {"k": 1}},
        ],
    )
    driver = Driver(req, backend)
    assert driver.run() is None
    assert [(t, cid) for t, _, cid, _ in backend.sent] == [(3.0, "cb0"), (7.0, "cb1")]
    assert backend.sent[0][3] == b'{"k": 1}'
    assert backend.sent[1][3] == f'"{driver.ctx.get("P")}"'.encode()


def test_heartbeat_does_not_consume_the_callback():
    backend = FakeBackend(callbacks=["cb"], finish_on=1)
    req = _req(
        AsyncInvoke=True,
        ExpectedResult={"ExecutionStatus": "SUCCEEDED"},
        CallbackActions=[
            {"CallbackName": "*", "Operation": "heartbeat", "Delay": 1},
            {"CallbackName": "*", "Operation": "success", "Delay": 1},
        ],
    )
    assert Driver(req, backend).run() is None
    assert [(t, op) for t, op, *_ in backend.sent] == [(3.0, "heartbeat"), (6.0, "success")]
    assert backend.sent[1][3] is None  # no Payload: no result


def test_failure_payload_keeps_error_fields_only():
    backend = FakeBackend(callbacks=["cb"], finish_on=1)
    req = _req(
        AsyncInvoke=True,
        ExpectedResult={"ExecutionStatus": "SUCCEEDED"},
        CallbackActions=[
            {
                "CallbackName": "${/c.*/}",
                "Operation": "failure",
                "Payload": {"ErrorType": "E", "ErrorMessage": "m", "X": 1},
            }
        ],
    )
    assert Driver(req, backend).run() is None
    assert backend.sent[0][3] == {"ErrorType": "E", "ErrorMessage": "m"}


def test_unmatched_action_and_stuck_execution_are_errors():
    req = _req(
        AsyncInvoke=True,
        ExpectedResult={"ExecutionStatus": "SUCCEEDED"},
        CallbackActions=[{"CallbackName": "zzz"}],
    )
    with pytest.raises(DriverError, match="no CallbackAction matches"):
        Driver(req, FakeBackend(callbacks=["cb"])).run()
    with pytest.raises(DriverError, match="no timer due"):
        Driver(
            _req(AsyncInvoke=True, ExpectedResult={"ExecutionStatus": "SUCCEEDED"}),
            FakeBackend(callbacks=["cb"]),
        ).run()


def test_requirement_files(tmp_path):
    (tmp_path / "step").mkdir()
    (tmp_path / "step" / "1-2.yaml").write_text("description: two\nInput:\nExpectedExecutionHistory: []\n")
    (tmp_path / "step" / "1-10.yaml").write_text(
        "description: ten\nAsyncInvoke: true\nExpectedExecutionHistory: []\n"
    )
    (tmp_path / "step" / "notes.yaml").write_text("x: 1\n")
    found = discover(tmp_path)
    assert select(found, None) == ["1-2", "1-10"]
    assert select(found, ["1-1*"]) == ["1-10"]
    req = load_requirement(found["1-10"])
    assert req.is_async and req.description == "ten" and req.input is None
    (tmp_path / "bad.yaml").write_text("- [unclosed\n")
    from perdure.testing.conformance.requirement import RequirementError

    with pytest.raises(RequirementError):
        load_requirement(tmp_path / "bad.yaml")
