"""`perdure run --function NAME=TARGET` registers chained-invoke targets for the run;
`perdure callback --endpoint URL` completes a callback through a running `perdure serve`;
ClientToken idempotency holds over HTTP too."""

from __future__ import annotations

import json
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from perdure import DurableContext, durable_execution
from perdure.engine import Engine, LambdaContext
from perdure.link.inprocess import InProcessInvocable
from perdure.link.target import as_lambda_handler
from perdure.server import EngineHost, HttpServiceClient
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    EventType,
    ExecutionStatus,
    InvocationInput,
    InvocationOutput,
    InvocationStatus,
    InvokeRequest,
    OperationAction,
    OperationType,
    OperationUpdate,
)

from .helpers import last_json, run_cli

pytestmark = pytest.mark.timeout(60)

CALLER = """
from perdure import DurableContext, durable_execution

@durable_execution
def handler(event, context: DurableContext):
    return {"priced": context.invoke("pricing", {"qty": event["qty"]}, name="price")}
"""
PRICING = """
from perdure import DurableContext, durable_execution

@durable_execution
def handler(event, context: DurableContext):
    return context.step(lambda _: event["qty"] * 7, name="compute")
"""


def test_run_registers_the_functions_its_invokes_call(tmp_path: Path) -> None:
    (tmp_path / "caller.py").write_text(textwrap.dedent(CALLER))
    (tmp_path / "pricing.py").write_text(textwrap.dedent(PRICING))
    done = run_cli(
        "run", "caller.py:handler", "--memory", "--skip-time", "--json", "--input", '{"qty": 3}',
        "--function", "pricing=pricing.py:handler",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    outcome = last_json(done.stdout)
    assert outcome["status"] == "SUCCEEDED" and outcome["result"] == {"priced": 21}


def test_run_refuses_bad_function_options(tmp_path: Path) -> None:
    (tmp_path / "caller.py").write_text(textwrap.dedent(CALLER))
    missing = run_cli(
        "run", "caller.py:handler", "--memory", "--function", "pricing=nope.py:handler", cwd=tmp_path
    )
    assert missing.returncode == 2 and "no such file" in missing.stderr and "nope.py" in missing.stderr
    twice = run_cli(
        "run", "caller.py:handler", "--memory",
        "--function", "caller-handler=caller.py:handler",
        cwd=tmp_path,
    )  # fmt: skip
    assert twice.returncode == 2 and "caller-handler registered more than once" in twice.stderr
    unknown = run_cli(
        "run", "caller.py:handler", "--memory", "--skip-time", "--json", "--input", '{"qty": 1}', cwd=tmp_path
    )
    assert unknown.returncode == 1  # no --function: the invoke fails with ResourceNotFoundException
    assert "pricing" in json.dumps(last_json(unknown.stdout)["error"])


@durable_execution
def approval(event: object, context: DurableContext) -> object:
    return context.create_callback(name="approval").result()


def test_callback_through_a_running_server(tmp_path: Path) -> None:
    engine = Engine.open(memory=True)
    engine.register_function("approval", InProcessInvocable(as_lambda_handler(approval), engine.service))
    host = EngineHost(engine, port=0)
    host.start()
    try:
        client = HttpServiceClient(host.url)
        arn = client.invoke(InvokeRequest("approval", b"{}", invocation_type="Event")).durable_execution_arn
        assert arn is not None
        deadline = time.monotonic() + 20
        while True:
            started = [e for e in engine.history(arn) if e.event_type is EventType.CALLBACK_STARTED]
            if started:
                break
            assert time.monotonic() < deadline
            time.sleep(0.02)
        cid = started[0].details.callback_id
        assert cid is not None
        both = run_cli("callback", "succeed", cid, "--endpoint", host.url, "--db", "x.db", cwd=tmp_path)
        assert both.returncode == 2 and "not allowed with argument" in both.stderr
        name = engine.get_execution(arn).durable_execution_name
        by_name = run_cli("callback", "succeed", "--execution", name, "--endpoint", host.url, cwd=tmp_path)
        assert (
            by_name.returncode == 2 and "over --endpoint, address the execution by its ARN" in by_name.stderr
        )
        done = run_cli(
            "callback", "succeed", "--execution", arn, "--callback", "approval", "--endpoint", host.url,
            "--result", '"yes"', cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0 and "callback succeeded" in done.stdout, done.stderr
        while engine.get_execution(arn).status is ExecutionStatus.RUNNING:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert json.loads(engine.get_execution(arn).result or "null") == '"yes"'  # passed through verbatim
        again = run_cli("callback", "succeed", cid, "--endpoint", host.url, cwd=tmp_path)
        assert again.returncode == 2 and "already closed" in again.stderr and "Traceback" not in again.stderr
    finally:
        host.stop()
        engine.close()


def test_callback_to_an_unreachable_endpoint_is_one_line(tmp_path: Path) -> None:
    gone = run_cli("callback", "heartbeat", "bm90LWFuLWlk", "--endpoint", "http://127.0.0.1:9", cwd=tmp_path)
    assert gone.returncode == 2 and "Traceback" not in gone.stderr
    assert len(gone.stderr.strip().splitlines()) == 1


def test_a_client_token_retry_over_http_gets_the_same_answer() -> None:
    engine = Engine.open(memory=True)
    host = EngineHost(engine, port=0)
    answers: list[object] = []

    def invocable(input: InvocationInput, context: LambdaContext) -> InvocationOutput:
        client = HttpServiceClient(host.url)
        request = CheckpointDurableExecutionRequest(
            input.durable_execution_arn,
            input.checkpoint_token,
            (OperationUpdate("s1", OperationType.STEP, OperationAction.START, sub_type="Step"),),
            client_token="retry-me",
        )
        answers.append(client.checkpoint_durable_execution(request))
        answers.append(client.checkpoint_durable_execution(request))
        try:
            client.checkpoint_durable_execution(replace(request, updates=()))
        except InvalidParameterValueError as exc:
            answers.append(exc.message)
        return InvocationOutput(status=InvocationStatus.SUCCEEDED, result='"ok"')

    engine.register_function("fn", invocable)
    host.start()
    try:
        arn = HttpServiceClient(host.url).invoke(InvokeRequest("fn", b"{}")).durable_execution_arn
        assert arn is not None and engine.get_execution(arn).status is ExecutionStatus.SUCCEEDED
    finally:
        host.stop()
        engine.close()
    assert answers[0] == answers[1]
    assert "'retry-me' was already used for a different checkpoint request" in str(answers[2])


PRINTER = """
import os
from perdure import DurableContext, durable_execution

@durable_execution
def handler(event, context: DurableContext):
    print("from print")
    context.step(lambda _: os.write(1, b"from fd 1\\n"), name="write")
    return 7
"""


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_run_json_stdout_is_one_document_when_the_handler_prints(tmp_path: Path, isolation: str) -> None:
    (tmp_path / "printer.py").write_text(textwrap.dedent(PRINTER))
    done = run_cli(
        "run", "printer.py:handler", "--memory", "--skip-time", "--json", "--isolation", isolation, cwd=tmp_path
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == 7
    assert "from print" in done.stderr and "from fd 1" in done.stderr
