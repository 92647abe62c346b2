"""Callbacks end to end on the real clock: `Engine.drive` waits while another thread, or
another process (`perdure callback`), completes the callback.

Covered: create_callback and wait_for_callback answered from a thread while `drive`
blocks (memory store and SQLite file); a real-clock timeout; a parent that invokes a
child waiting for a callback; the `perdure callback` command completing a `perdure run`
in another process, and its refusals.
"""

from __future__ import annotations

import json
import queue
import subprocess
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from perdure import (
    CallbackConfig,
    DurableContext,
    Duration,
    WaitForCallbackConfig,
    WaitForCallbackContext,
    durable_execution,
)
from perdure.engine import Engine
from perdure.link.inprocess import InProcessInvocable
from perdure.link.target import as_lambda_handler
from perdure.wire.types import (
    EventType,
    ExecutionStatus,
    SendDurableExecutionCallbackHeartbeatRequest,
    SendDurableExecutionCallbackSuccessRequest,
)

from .helpers import perdure_command, run_cli

pytestmark = pytest.mark.timeout(60)

Handler = Callable[[Any, DurableContext], Any]


@pytest.fixture(params=["memory", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on the real clock."""
    made = Engine.open(memory=True) if request.param == "memory" else Engine.open(tmp_path / "e2e.db")
    assert not made.skips_time
    try:
        yield made
    finally:
        made.close()


def register(engine: Engine, name: str, handler: Handler) -> None:
    engine.register_function(name, InProcessInvocable(as_lambda_handler(handler), engine.service))


def first_callback_id(engine: Engine, arn: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        for event in engine.history(arn):
            if event.event_type is EventType.CALLBACK_STARTED and event.details.callback_id:
                return event.details.callback_id
        assert time.monotonic() < deadline, "no callback was created"
        time.sleep(0.02)


@durable_execution
def approval(event: Any, context: DurableContext) -> Any:
    answer = context.create_callback(name="approval").result()
    return {"answer": answer}


def test_drive_waits_for_a_callback_sent_by_another_thread(engine: Engine) -> None:
    register(engine, "approval", approval)
    arn = engine.start_execution("approval", None, "approval-1")

    def external_system() -> None:
        cid = first_callback_id(engine, arn)
        # Answer once the invocation that created the callback has suspended, as the
        # expected history says (answered sooner, CallbackSucceeded may come before its end).
        deadline = time.monotonic() + 20
        while not any(e.event_type is EventType.INVOCATION_COMPLETED for e in engine.history(arn)):
            assert time.monotonic() < deadline, "the first invocation did not end"
            time.sleep(0.02)
        engine.service.send_durable_execution_callback_heartbeat(
            SendDurableExecutionCallbackHeartbeatRequest(cid)
        )
        engine.service.send_durable_execution_callback_success(
            SendDurableExecutionCallbackSuccessRequest(cid, b'"approved"')
        )

    sender = threading.Thread(target=external_system)
    sender.start()
    execution = engine.drive(arn)  # blocks on the real clock until the callback arrives
    sender.join()
    assert execution.status is ExecutionStatus.SUCCEEDED
    assert json.loads(execution.result or "null") == {"answer": '"approved"'}
    types = [e.event_type.value for e in engine.history(arn)]
    assert types == [
        "ExecutionStarted",
        "CallbackStarted",
        "InvocationCompleted",
        "CallbackSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]


def test_wait_for_callback_with_a_submitter_that_hands_the_id_to_a_worker(engine: Engine) -> None:
    inbox: queue.Queue[str] = queue.Queue()

    def submit(callback_id: str, context: WaitForCallbackContext) -> None:
        inbox.put(callback_id)  # "send the id to the approval system"

    @durable_execution
    def review(event: Any, context: DurableContext) -> Any:
        return context.wait_for_callback(
            submit, name="review", config=WaitForCallbackConfig(timeout=Duration(30))
        )

    register(engine, "review", review)

    def approval_system() -> None:
        cid = inbox.get(timeout=20)
        engine.service.send_durable_execution_callback_success(
            SendDurableExecutionCallbackSuccessRequest(cid, b"looks good")
        )

    worker = threading.Thread(target=approval_system)
    worker.start()
    execution = engine.drive(engine.start_execution("review", None))
    worker.join()
    assert execution.status is ExecutionStatus.SUCCEEDED and execution.result == '"looks good"'


def test_a_callback_timeout_on_the_real_clock(engine: Engine) -> None:
    @durable_execution
    def impatient(event: Any, context: DurableContext) -> Any:
        return context.create_callback(config=CallbackConfig(timeout=Duration(1))).result()

    register(engine, "impatient", impatient)
    execution = engine.drive(engine.start_execution("impatient", None))
    assert execution.status is ExecutionStatus.FAILED and execution.error is not None
    assert (execution.error.error_type or "").endswith("CallbackTimeoutError")
    timed_out = [
        e for e in engine.history(execution.durable_execution_arn) if e.event_type.value == "CallbackTimedOut"
    ]
    assert timed_out[0].details.error is not None and timed_out[0].details.error.payload is not None
    assert timed_out[0].details.error.payload.error_type == "Callback.Timeout"


def test_drive_waits_for_an_invoked_execution_that_waits_for_a_callback(engine: Engine) -> None:
    @durable_execution
    def parent(event: Any, context: DurableContext) -> Any:
        return {"child said": context.invoke("approval", None)}

    register(engine, "approval", approval)
    register(engine, "parent", parent)
    arn = engine.start_execution("parent", None)

    def external_system() -> None:
        deadline = time.monotonic() + 20
        while True:
            children = [
                e.details.durable_execution_arn
                for e in engine.history(arn)
                if e.event_type is EventType.CHAINED_INVOKE_STARTED
            ]
            if children and children[0]:
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
        cid = first_callback_id(engine, children[0])
        engine.service.send_durable_execution_callback_success(
            SendDurableExecutionCallbackSuccessRequest(cid, b"1")
        )

    sender = threading.Thread(target=external_system)
    sender.start()
    execution = engine.drive(arn)  # the parent waits on the child, the child on its callback
    sender.join()
    assert execution.status is ExecutionStatus.SUCCEEDED
    assert json.loads(execution.result or "null") == {"child said": {"answer": "1"}}


# --------------------------------------------------------------------------- the CLI

FLOW = """
from perdure import DurableContext, durable_execution


@durable_execution
def handler(event, context: DurableContext):
    return {"answer": context.create_callback(name="sign-off").result()}
"""


def _callback_id_from_cli(db: Path, cwd: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = run_cli("list", "--db", str(db), "--json", cwd=cwd)
        rows = json.loads(listed.stdout)["DurableExecutions"] if listed.returncode == 0 else []
        if rows:
            history = run_cli("history", rows[0]["DurableExecutionArn"], "--db", str(db), "--json", cwd=cwd)
            for event in json.loads(history.stdout)["Events"]:
                if event["EventType"] == "CallbackStarted":
                    return str(event["CallbackStartedDetails"]["CallbackId"])
        time.sleep(0.2)
    raise AssertionError("perdure run created no callback")


def test_perdure_callback_completes_a_running_perdure_run(tmp_path: Path) -> None:
    flow = tmp_path / "signoff.py"
    flow.write_text(textwrap.dedent(FLOW))
    db = tmp_path / "cli.db"
    run = subprocess.Popen(
        perdure_command("run", f"{flow}:handler", "--db", str(db), "--name", "sign-off-1", "--json"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        cid = _callback_id_from_cli(db, tmp_path)
        wrong = run_cli("callback", "succeed", cid, "--db", str(db), "--result", "{not json", cwd=tmp_path)
        assert wrong.returncode == 2 and "--result is not valid JSON" in wrong.stderr
        beat = run_cli("callback", "heartbeat", cid, "--db", str(db), cwd=tmp_path)
        assert beat.returncode == 0, beat.stderr
        done = run_cli("callback", "succeed", cid, "--db", str(db), "--result", '{"ok": true}', cwd=tmp_path)
        assert done.returncode == 0 and "callback succeeded" in done.stdout, done.stderr
        stdout, stderr = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 0, stderr
    outcome = json.loads(stdout.strip().splitlines()[-1])
    assert outcome["status"] == "SUCCEEDED" and outcome["result"] == {"answer": '{"ok": true}'}
    again = run_cli("callback", "fail", cid, "--db", str(db), "--error-type", "Late", cwd=tmp_path)
    assert again.returncode == 2 and "CallbackTimeoutServiceError" in again.stderr
    assert "already closed (SUCCEEDED)" in again.stderr and "Traceback" not in again.stderr
    unknown = run_cli("callback", "heartbeat", "bm90LWFuLWlk", "--db", str(db), cwd=tmp_path)
    assert unknown.returncode == 2 and "not a callback id" in unknown.stderr
    misuse = run_cli("callback", "heartbeat", cid, "--db", str(db), "--result", "1", cwd=tmp_path)
    assert misuse.returncode == 2 and "--result is for 'succeed'" in misuse.stderr
    missing = run_cli("callback", "succeed", cid, "--db", str(tmp_path / "none.db"), cwd=tmp_path)
    assert missing.returncode == 2 and "no database" in missing.stderr
