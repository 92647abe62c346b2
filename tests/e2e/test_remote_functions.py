"""Remote functions: handlers in another process behind the Lambda Invoke API, invoked by the
engine through `--function NAME=URL` (`HttpInvocable`), with the results and histories of the
same handlers in process; and the faults of that link, recorded as Lambda records them.

The function host is `python -m perdure.link.lambda_host`, a separate process that imports
the handlers and serves `POST /2015-03-31/functions/NAME/invocations`; the handlers reach
the engine's HTTP API through `AWS_ENDPOINT_URL_LAMBDA`, as on Lambda.
"""

from __future__ import annotations

import json
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
from perdure.wire.types import EventType

from .helpers import FLOWS
from .http_links import InProcessLink, Outcome, callback_id, load, normalized
from .remote_host import ROOT, RemoteLink

pytestmark = pytest.mark.timeout(120)

REMOTE = f"{FLOWS}/remote_flows.py"
HTTP = f"{FLOWS}/http_flows.py"
FUNCTIONS = {
    "journey": f"{REMOTE}:journey",
    "doubler": f"{REMOTE}:doubler",
    "big_state": f"{REMOTE}:big_state",
    "retrying": f"{HTTP}:retrying",
    "approval": f"{HTTP}:approval",
}
SMALL_PAGES = 64 * 1024
"""A state page size that makes every invocation past the first few steps page its state."""


class LocalLink(InProcessLink):
    """The in-process link with engine options (a small state page, say)."""

    def __init__(self, **engine_options: Any) -> None:
        self.engine = Engine.in_memory(skip_time=True, **engine_options)

    def register_all(self, functions: dict[str, str]) -> None:
        for name, target in functions.items():
            self.engine.register_function(name, InProcessInvocable(load(target), self.engine.service))


@pytest.fixture(scope="module")
def monkeymodule() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module", params=[None, SMALL_PAGES], ids=["6mb-pages", "small-pages"])
def links(
    request: pytest.FixtureRequest, monkeymodule: pytest.MonkeyPatch
) -> Iterator[tuple[LocalLink, RemoteLink]]:
    options = {} if request.param is None else {"state_page_bytes": request.param}
    local = LocalLink(**options)
    local.register_all(FUNCTIONS)
    remote = RemoteLink(monkeymodule, FUNCTIONS, **options)
    try:
        yield local, remote
    finally:
        remote.close()
        local.close()


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


def test_steps_a_wait_a_map_replaying_children_and_a_chained_invoke(
    links: tuple[LocalLink, RemoteLink],
) -> None:
    local, remote = links
    outcomes = [link.run("journey", {}, "journey-1") for link in (local, remote)]
    assert outcomes[1].status == "SUCCEEDED", outcomes[1].error
    assert outcomes[1].value == {"first": 20, "sizes": [40_000 * (i + 1) for i in range(6)], "doubled": 42}
    same(*outcomes)
    with remote.engine.store.transaction() as tx:
        rec = tx.get_execution(outcomes[1].arn)
        assert rec is not None
        ops = [op for _, op in tx.list_operations(rec.key, -1, 1000) if op.name == "fill-all"]
    assert ops[0].context_details is not None
    assert ops[0].context_details.replay_children  # its result (over 256 KiB) is rebuilt on replay
    assert remote.remote["doubler"].event_sizes, "the chained invoke ran on the remote function"


def test_a_step_retried_twice_reports_attempt_3(links: tuple[LocalLink, RemoteLink]) -> None:
    local, remote = links
    outcomes = [link.run("retrying", {"failures": 2}, "retry-1") for link in (local, remote)]
    assert outcomes[1].value == {"attempts": 3}
    same(*outcomes)


def test_a_callback_answered_from_outside(links: tuple[LocalLink, RemoteLink]) -> None:
    local, remote = links
    outcomes = []
    for link in (local, remote):
        arn = link.start("approval", {})
        link.succeed_callback(callback_id(link, arn), json.dumps("yes").encode())
        outcomes.append(link.finish(arn))
    assert outcomes[1].value == {"answer": '"yes"'}  # the raw callback result
    same(*outcomes)


def test_a_state_over_6_mb_is_paged(links: tuple[LocalLink, RemoteLink]) -> None:
    local, remote = links
    outcomes = [link.run("big_state", {"steps": 30}, "big-1") for link in (local, remote)]
    assert outcomes[1].status == "SUCCEEDED", outcomes[1].error
    assert outcomes[1].value == 30 * 220_000 + 4
    same(*outcomes)
    invocable = remote.remote["big_state"]
    assert max(invocable.event_sizes) <= 6 * 1024 * 1024  # Lambda's invoke payload limit
    # the invocation after the wait: its 30 big steps could not all be in its event
    assert invocable.markers[-1] is not None and invocable.initial_state_sizes[-1] < 32


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


def test_an_unreachable_function_fails_after_the_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    link = RemoteLink(monkeypatch, {"doubler": FUNCTIONS["doubler"]})
    try:
        link.functions.close()  # nothing listens at its URL any more
        outcome = link.run("doubler", {"n": 1})
    finally:
        link.close()
    assert outcome.status == "FAILED"
    assert invocation_errors(outcome) == ["Runtime.Unreachable"] * 3


# ------------------------------------------------------------ the official SDK


OFFICIAL = f"{FLOWS}/remote_official.py"
PEER_PYTHON = ROOT / "benchmarks" / ".peer-venv" / "bin" / "python"


def _official_cases(link: RemoteLink) -> dict[str, Outcome]:
    outcomes = {
        "journey": link.run("journey", {}, "journey-1"),
        "retrying": link.run("retrying", {}, "retry-1"),
        "big_state": link.run("big_state", {}, "big-1"),
    }
    arn = link.start("approval", {})
    link.succeed_callback(callback_id(link, arn), b'"approved"')
    outcomes["approval"] = link.finish(arn)
    return outcomes


def test_the_official_sdk_and_perdures_as_remote_functions_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--install-peer"], check=True, timeout=600
    )
    functions = {
        name: f"{OFFICIAL}:{name}" for name in ("journey", "doubler", "retrying", "approval", "big_state")
    }
    results: list[dict[str, Outcome]] = []
    for python, flags in ((PEER_PYTHON, ()), (Path(sys.executable), ("--compat",))):
        link = RemoteLink(monkeypatch, functions, python=python, flags=flags, state_page_bytes=SMALL_PAGES)
        try:
            results.append(_official_cases(link))
            assert link.remote["big_state"].markers[-1] is not None  # its state was paged
        finally:
            link.close()
    official, perdure = results
    assert {case: (o.status, o.value) for case, o in official.items()} == {
        "journey": ("SUCCEEDED", {"first": 20, "sizes": [40_000 * (i + 1) for i in range(6)], "doubled": 42}),
        "retrying": ("SUCCEEDED", {"attempts": 3}),
        "big_state": ("SUCCEEDED", 30 * 220_000 + 4),
        "approval": ("SUCCEEDED", {"answer": '"approved"'}),
    }
    for case in official:  # the same operations; the SDKs word a map's summary differently
        assert shape(perdure[case]) == shape(official[case]), case
        assert invocation_errors(perdure[case]) == invocation_errors(official[case])


def shape(outcome: Outcome) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
    """Every operation event as (type, id, name, sub-type, parent id), sorted."""
    return sorted(
        (e.event_type.value, e.id, e.name, e.sub_type, e.parent_id)
        for e in outcome.history
        if e.id is not None and not e.event_type.value.startswith(("Execution", "Invocation"))
    )
