"""Remote functions: handlers in another process behind the Lambda Invoke API, invoked by the
engine through `--function NAME=URL`, with the results and histories of the same handlers in
process; and the faults of that link, recorded as Lambda records them.

The function host is `python -m perdure.link.lambda_host`, a separate process that imports
the handlers and serves `POST /2015-03-31/functions/NAME/invocations`; the handlers reach
the engine's HTTP API through `AWS_ENDPOINT_URL_LAMBDA`, as on Lambda. For each SDK (perdure's,
and the official SDK 3.0 in the peer venv `benchmarks/.peer-venv`), `perdure serve --skip-time
--function NAME=http://...` in a process of its own runs the cases of `run_cases` driven with
boto3 (the callback answered through boto3, the chained invoke from one remote function to
another), and the same handler file runs them in process, with state pages of 64 KiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from perdure.engine import Engine, InvocationRetryPolicy
from perdure.link.inprocess import InProcessInvocable
from perdure.link.target import Target
from perdure.wire import limits
from perdure.wire.types import EventType

from .helpers import FLOWS
from .http_links import InProcessLink, Outcome, load, normalized
from .remote_host import EXPECTED, OFFICIALS, PERDURES, ROOT, SMALL_PAGES, RemoteLink, ServeLink, run_cases

pytestmark = pytest.mark.timeout(120)

REMOTE = f"{FLOWS}/remote_flows.py"
PEER_PYTHON = ROOT / "benchmarks" / ".peer-venv" / "bin" / "python"
IN_PROCESS_OFFICIAL = Path(__file__).parent / "official" / "in_process.py"


class LocalLink(InProcessLink):
    """The in-process link with engine options (a small state page, say)."""

    def __init__(self, **engine_options: Any) -> None:
        self.engine = Engine.in_memory(skip_time=True, **engine_options)

    def register_all(self, functions: dict[str, str]) -> None:
        for name, target in functions.items():
            self.engine.register_function(name, InProcessInvocable(load(target), self.engine.service))


def operations(outcome: Outcome) -> list[dict[str, Any]]:
    """The operation events of a history in order, without what differs between runs: a
    callback id (it holds the execution ARN), event numbers, and where an invocation's end
    falls among them (a chained invoke's result races its caller's invocation end)."""
    kept = [
        replace(e, details=replace(e.details, callback_id=None))
        for e in outcome.history
        if e.event_type is not EventType.INVOCATION_COMPLETED
    ]
    return [{k: v for k, v in event.items() if k != "EventId"} for event in normalized(kept)]


def same(local: Outcome, remote: Outcome) -> None:
    assert (remote.status, remote.value, remote.error) == (local.status, local.value, local.error)
    assert operations(remote) == operations(local)
    assert invocation_errors(remote) == invocation_errors(local)


def shape(outcome: Outcome) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
    """Every operation event as (type, id, name, sub-type, parent id), sorted."""
    return sorted(
        (e.event_type.value, e.id, e.name, e.sub_type, e.parent_id)
        for e in outcome.history
        if e.id is not None and not e.event_type.value.startswith(("Execution", "Invocation"))
    )


@pytest.fixture(scope="module")
def perdures_in_process() -> dict[str, Outcome]:
    """The cases on perdure's SDK, in process, state pages of 64 KiB."""
    local = LocalLink(state_page_bytes=SMALL_PAGES)
    try:
        local.register_all(PERDURES)
        outcomes = run_cases(local)
        with local.engine.store.transaction() as tx:
            rec = tx.get_execution(outcomes["journey"].arn)
            assert rec is not None
            ops = [op for _, op in tx.list_operations(rec.key, -1, 1000) if op.name == "fill-all"]
    finally:
        local.close()
    assert ops[0].context_details is not None
    assert ops[0].context_details.replay_children  # its result (over 256 KiB) is rebuilt on replay
    return outcomes


def served(functions: dict[str, str], log: Path, **host: Any) -> dict[str, Outcome]:
    """The cases on `perdure serve` with `functions` remote ones, served by a function host
    (`host`: its interpreter and flags); checked for their results, the chained invoke and
    the paged state."""
    link = ServeLink(functions, log, **host)
    try:
        outcomes = run_cases(link)
        chained = link.client.list_durable_executions_by_function(FunctionName="doubler")
    finally:
        link.close()
    assert {case: (o.status, o.value) for case, o in outcomes.items()} == EXPECTED
    # the chained invoke: `doubler`, a remote function, ran as an execution of its own
    assert [e["Status"] for e in chained["DurableExecutions"]] == ["SUCCEEDED"]
    # The state of `big_state`'s last invocation is over 6 MB; the host refuses an event over
    # 6 MB (as Lambda does), so the event held a page of it and the SDK read the rest.
    results = [e.details.result for e in outcomes["big_state"].history if e.details.result is not None]
    state = sum(len(result.payload or "") for result in results)
    assert state > limits.MAX_WIRE_PAYLOAD_BYTES
    reads = [
        line for line in log.read_text().splitlines() if line.startswith("DEBUG GET") and "/state" in line
    ]
    assert reads and all("big-1" in line for line in reads)  # GetDurableExecutionState, by big_state
    return outcomes


def test_perdures_sdk_behind_perdure_serve_as_in_process(
    tmp_path: Path, perdures_in_process: dict[str, Outcome]
) -> None:
    remote = served(PERDURES, tmp_path / "serve.log")
    for case, in_process in perdures_in_process.items():
        assert (in_process.status, in_process.value) == EXPECTED[case]
        same(in_process, remote[case])


def test_the_official_sdk_behind_perdure_serve_as_in_process(
    tmp_path: Path, perdures_in_process: dict[str, Outcome]
) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--install-peer"], check=True, timeout=600
    )
    done = subprocess.run(
        [str(PEER_PYTHON), str(IN_PROCESS_OFFICIAL)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    in_process = {case: Outcome.from_json(o) for case, o in json.loads(done.stdout).items()}
    remote = served(OFFICIALS, tmp_path / "serve.log", python=PEER_PYTHON)
    for case, outcome in in_process.items():
        assert (outcome.status, outcome.value) == EXPECTED[case]
        same(outcome, remote[case])
        # the same operations as perdure's SDK (the SDKs word a map's summary differently)
        assert shape(outcome) == shape(perdures_in_process[case]), case
        assert invocation_errors(outcome) == invocation_errors(perdures_in_process[case])


def test_executions_of_a_remote_function_are_invoked_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    link = RemoteLink(monkeypatch, {"rendezvous": f"{REMOTE}:rendezvous"})
    try:
        arns = [
            link.start("rendezvous", {"folder": str(tmp_path), "me": me, "other": other})
            for me, other in (("a", "b"), ("b", "a"))
        ]
        outcomes = [link.finish(arn, timeout=60) for arn in arns]
    finally:
        link.close()
    assert [(o.status, o.value) for o in outcomes] == [("SUCCEEDED", "met")] * 2
    assert [invocation_errors(o) for o in outcomes] == [[None]] * 2  # each in one invocation


# ------------------------------------------------------------------ faults


FAULTS = {
    "crash_once": f"{REMOTE}:crash_once",
    "hang_once": f"{REMOTE}:hang_once",
    "unhandled": f"{REMOTE}:unhandled",
    "garbage": f"{REMOTE}:garbage",
}


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch) -> Iterator[RemoteLink]:
    link = RemoteLink(
        monkeypatch,
        FAULTS,
        invocation_retry=InvocationRetryPolicy(max_attempts=3, initial_delay_seconds=1),
        invocation_timeout=3,
    )
    try:
        yield link
    finally:
        link.close()


def invocation_errors(outcome: Outcome) -> list[str | None]:
    return [
        e.details.error.payload.error_type if e.details.error and e.details.error.payload else None
        for e in outcome.history
        if e.event_type is EventType.INVOCATION_COMPLETED
    ]


def test_a_function_host_killed_mid_invocation_is_a_crash_retried(faulty: RemoteLink, tmp_path: Path) -> None:
    # The engine runs on the virtual clock, which jumps over the retry delay only once the
    # crashed invocation is recorded; the host is restarted on its port before that.
    faulty.engine.stop()
    marker = tmp_path / "crashed"
    arn = faulty.engine.start_execution("crash_once", json.dumps({"marker": str(marker)}))
    faulty.engine.run_until_idle()  # the first invocation: the host dies after the first step
    assert faulty.functions.wait_for_exit() == 1
    faulty.functions.start(faulty.functions.port)
    faulty.engine.start()
    outcome = faulty.finish(arn)
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.value == "before-after"
    assert invocation_errors(outcome) == ["Runtime.ExitError", None]
    started = [e.name for e in outcome.history if e.event_type is EventType.STEP_STARTED]
    assert started == ["before", "after"]  # the step done before the crash was not run again


def test_a_function_that_does_not_answer_in_time_is_timed_out_and_retried(
    faulty: RemoteLink, tmp_path: Path
) -> None:
    arn = faulty.start("hang_once", {"marker": str(tmp_path / "hung"), "sleep": 30})
    outcome = faulty.finish(arn, timeout=90)
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.value == "awake"
    assert invocation_errors(outcome)[0] == "Sandbox.Timedout"
    assert invocation_errors(outcome)[-1] is None


def test_x_amz_function_error_is_a_failed_invocation(
    faulty: RemoteLink, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = faulty.run("unhandled", {})
    assert outcome.status == "FAILED"
    assert invocation_errors(outcome) == ["RuntimeError"] * 3  # retried as a crash, then given up
    assert outcome.error is not None and outcome.error["ErrorMessage"] == "boom before any output"
    local = LocalLink(invocation_retry=InvocationRetryPolicy(max_attempts=3))
    try:  # in process, the same function raising (not a durable handler: nothing catches it)
        raw = Target.parse(FAULTS["unhandled"]).load()
        local.engine.register_function("unhandled", InProcessInvocable(raw, local.engine.service))
        in_process = local.run("unhandled", {})
    finally:
        local.close()
    assert (in_process.status, invocation_errors(in_process)) == (outcome.status, invocation_errors(outcome))


def test_an_answer_that_is_not_an_invocation_output_names_the_function(faulty: RemoteLink) -> None:
    outcome = faulty.run("garbage", {})
    assert outcome.status == "FAILED"
    assert invocation_errors(outcome) == ["Runtime.InvalidResponse"] * 3
    assert outcome.error is not None
    assert "function garbage" in outcome.error["ErrorMessage"]


def test_an_unreachable_function_is_tried_on_its_own_budget_then_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nothing ran: it is tried past max_attempts (a restart must not fail what falls due).
    policy = InvocationRetryPolicy(max_attempts=3, max_unreachable_attempts=5)
    link = RemoteLink(monkeypatch, {"doubler": PERDURES["doubler"]}, invocation_retry=policy)
    try:
        link.functions.close()  # nothing listens at its URL any more
        outcome = link.run("doubler", {"n": 1})
    finally:
        link.close()
    assert outcome.status == "FAILED"
    assert invocation_errors(outcome) == ["Runtime.Unreachable"] * 5
