"""The same workflow on both faces of the SDK records the same history.

Each flow of tests/e2e/face_flows.py runs once as a sync handler and once as its async
rewrite, each on a fresh time-skipping `DurableTestRunner`, with the same callbacks sent
at the same points. The two histories must be identical event for event (types, operation
ids, names, sub-types, parent ids, payloads, errors) once what differs by nature is
normalized: timestamps, request ids, execution ids and ARNs, callback ids, stack traces.
A concurrent flow interleaves its operations differently from run to run on either face,
so there each operation's own events are compared in order, operation by operation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from perdure.testing import DurableTestRunner, ExecutionResult
from perdure.wire.codec import to_wire
from perdure.wire.types import ErrorObject, Event

from .face_flows import FLOWS, TARGETS, Flow
from .http_links import HttpLink

FACE_FLOWS = Path(__file__).with_name("face_flows.py")

VOLATILE = {
    "EventId",
    "EventTimestamp",
    "ScheduledEndTimestamp",
    "StartTimestamp",
    "EndTimestamp",
    "RequestId",
    "CallbackId",
    "DurableExecutionArn",
    "StackTrace",
}
ARN = re.compile(r"arn:aws:lambda:[^\"\\\s]+")


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<volatile>" if k in VOLATILE else _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, str):
        return ARN.sub("<arn>", value)
    return value


def canonical(history: list[Event], concurrent: bool) -> list[dict[str, Any]]:
    """The history with volatile fields replaced; for a concurrent flow, grouped by operation id
    (a stable sort: each operation's events, and the events without an id, keep their order)."""
    events = []
    for event in (to_wire(e, timestamps="epoch_seconds") for e in history):
        if event["EventType"].startswith("Execution"):
            event = {**event, "Id": "<execution>"}
        events.append(_normalize(event))
    if concurrent:
        events.sort(key=lambda e: str(e.get("Id") or ""))
    return events


def run_flow(flow: Flow, face: str) -> ExecutionResult:
    """Run `flow` on `face` to its end, sending each of its callbacks once it is open."""
    with DurableTestRunner.start_time_skipping(max_operations=10_000) as runner:
        for name, target in TARGETS[face].items():
            runner.register(target, name=name)
        handler = flow.sync if face == "sync" else flow.async_
        state = runner.run_until_suspended(handler, flow.input)
        arn, pending = state.execution_arn, dict(flow.callbacks)
        while state.is_running:
            for name, outcome in list(pending.items()):
                try:
                    callback_id = runner.callback_id(arn, name)
                except LookupError:
                    continue
                if isinstance(outcome, ErrorObject):
                    runner.send_callback_failure(callback_id, outcome)
                else:
                    runner.send_callback_success(callback_id, outcome)
                del pending[name]
            state = runner.resume(arn)
        return state


class Outcomes(dict[tuple[str, str], ExecutionResult]):
    """(flow name, face) -> its run, each run once, when a test first asks for it."""

    def __missing__(self, key: tuple[str, str]) -> ExecutionResult:
        flow = next(f for f in FLOWS if f.name == key[0])
        self[key] = run_flow(flow, key[1])
        return self[key]


@pytest.fixture(scope="module")
def outcomes() -> Outcomes:
    return Outcomes()


EXPECTED: dict[str, Any] = {
    "steps": {
        "greeting": "Hello, Ada!",
        "attempts": 3,
        "caught": "ValueError: the ledger refused the entry",
        "anonymous": "HELLO, ADA!",
    },
    "waits": "between",
    "children": {
        "reserved": "held lamp",
        "nested": "outer step / inner step",
        "caught": "the ledger refused the entry",
    },
    "parallel": {
        "first_two": {
            "reason": "MIN_SUCCESSFUL_REACHED",
            "status": "FAILED",
            "results": ["b0", None, "b2"],
            "errors": [None, "branch 1 failed", None],
        },
        "tolerant": {
            "reason": "FAILURE_TOLERANCE_EXCEEDED",
            "status": "FAILED",
            "results": [None, None],
            "errors": ["branch 4 failed", "branch 5 failed"],
        },
        "audits": ["audited books", "b6"],
    },
    "map": {
        "reason": "ALL_COMPLETED",
        "status": "FAILED",
        "results": [0, 2, 4, 6, 8, None, 12, 14],
        "errors": [None] * 5 + ["item 5 is odd one out"] + [None] * 2,
    },
    "callbacks": {"approved": "yes", "rejected": "refused: over budget"},
    "wait_for_callback": ["signed by Grace", "ok"],
    "wait_for_condition": {"count": 30},
    "invoke": {"echoed": {"echo": {"order": 7}}, "refused": "PermissionError: refused please"},
    "map_in_parallel": [["eu:1", "eu:2", "eu:3"], ["us:4", "us:5"]],
    "replay_children": {"count": 40, "bytes": 40 * 8192},
}


def test_the_flows_cover_every_operation(outcomes: Outcomes) -> None:
    sub_types = {e.sub_type for flow in FLOWS for e in outcomes[(flow.name, "sync")].history}
    assert {
        "Step",
        "Wait",
        "RunInChildContext",
        "Parallel",
        "ParallelBranch",
        "Map",
        "MapIteration",
        "Callback",
        "WaitForCallback",
        "WaitForCondition",
        "ChainedInvoke",
    } <= sub_types
    # The map's 320 KiB of results cannot be stored (256 KiB limit): the replay after the wait
    # re-builds them from the iterations (ReplayChildren).
    overflow = outcomes[("replay_children", "sync")].history_json()
    (stored,) = [
        e["ContextSucceededDetails"]["Result"]["Payload"]
        for e in overflow
        if e["EventType"] == "ContextSucceeded" and e.get("SubType") == "Map"
    ]
    assert len(stored) < 256 * 1024 < EXPECTED["replay_children"]["bytes"]


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.name)
def test_sync_flow_result(flow: Flow, outcomes: Outcomes) -> None:
    result = outcomes[(flow.name, "sync")]
    assert result.status == "SUCCEEDED", result.error
    assert result.result == EXPECTED[flow.name]


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.name)
def test_both_faces_record_the_same_history(flow: Flow, outcomes: Outcomes) -> None:
    sync, async_ = outcomes[(flow.name, "sync")], outcomes[(flow.name, "async")]
    assert async_.status == sync.status, async_.error
    assert async_.result == sync.result
    assert_same_history(sync.history, async_.history, flow.concurrent)


def assert_same_history(sync: list[Event], async_: list[Event], concurrent: bool) -> None:
    expected, actual = canonical(sync, concurrent), canonical(async_, concurrent)
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        assert got == want, f"event {index} differs:\n sync:  {json.dumps(want)}\n async: {json.dumps(got)}"
    assert len(actual) == len(expected)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("flow", [f for f in FLOWS if not f.callbacks], ids=lambda f: f.name)
def test_the_async_face_behind_perdure_serve_records_the_same_history(
    flow: Flow, outcomes: Outcomes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP the async handler is invoked as Lambda invokes it and checkpoints through the
    SDK's boto3 client; its history is still the sync face's (run in process)."""
    link = HttpLink(monkeypatch)
    try:
        for name, target in TARGETS["async"].items():
            link.register(name, f"{FACE_FLOWS}:{target.__name__}")
        link.register("flow", f"{FACE_FLOWS}:{flow.async_.__name__}")
        over_http = link.run("flow", flow.input)
    finally:
        link.close()
    sync = outcomes[(flow.name, "sync")]
    assert over_http.status == sync.status, over_http.error
    assert over_http.value == sync.result
    assert_same_history(sync.history, over_http.history, flow.concurrent)
