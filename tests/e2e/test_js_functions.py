"""A durable function written with the official AWS durable execution SDK for JavaScript, run
by `perdure serve --function NAME=http://…`, against the same function on perdure's SDK.

`tests/js/host.mjs` serves the JavaScript functions (`tests/js/functions.mjs`, the SDK
pinned by `tests/js/package-lock.json`, installed by `make js`) on the Lambda Invoke API
route in a Node process; they find the engine through `AWS_ENDPOINT_URL_LAMBDA`, a region
and credentials in their environment, as on Lambda. One `perdure serve` (SQLite, time
skipped) runs them beside their twins on perdure's SDK (`flows/js_twins.py`, in process),
over two steps around a wait, a step that fails twice before it succeeds, and a callback
answered from outside; results and histories (all but operation ids, which each SDK
derives its own way, and error types, which each language names its own way) are the same.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import FLOWS, free_port, perdure_command
from .lambda_runtime import lambda_client

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "tests" / "js"
TWINS = FLOWS / "js_twins.py"
NAMES = ("journey", "approval")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`perdure serve` with `js-NAME` served by Node and `py-NAME` by perdure's SDK in process."""
    if (
        not (JS / "node_modules" / "@aws" / "durable-execution-sdk-js").is_dir()
        or shutil.which("node") is None
    ):
        pytest.fail("the JavaScript SDK is not installed: run `make js` (Node and npm are needed)")
    api = free_port()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_LAMBDA": f"http://127.0.0.1:{api}",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "NODE_NO_WARNINGS": "1",  # the AWS SDK's notice that Node 20 will not be supported
    }
    env.pop("AWS_PROFILE", None)
    specs = [f"js-{name}=functions.mjs:{name}" for name in NAMES]
    host = subprocess.Popen(["node", "host.mjs", *specs], cwd=JS, stdout=subprocess.PIPE, text=True, env=env)
    serve = None
    try:
        assert host.stdout is not None
        line = host.stdout.readline()
        assert line.startswith("js host: listening on "), line
        url = line.split()[-1]
        functions = [f"--function=js-{name}={url}" for name in NAMES]
        functions += [f"--function=py-{name}={TWINS}:{name}" for name in NAMES]
        db = tmp_path_factory.mktemp("js") / "perdure.db"
        serve = subprocess.Popen(
            perdure_command("serve", "--port", str(api), "--db", str(db), "--skip-time", *functions),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = lambda_client(f"http://127.0.0.1:{api}", read_timeout=60)
        _wait_until_listening(client)
        yield client
        client.close()
    finally:
        for process in (serve, host):
            if process is not None:
                process.terminate()
                process.wait(30)
        if host.stdout is not None:
            host.stdout.close()


def _wait_until_listening(client: Any) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            client.list_durable_executions_by_function(FunctionName="py-journey")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _finish(client: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        execution = client.get_durable_execution(DurableExecutionArn=arn)
        if execution["Status"] != "RUNNING":
            return execution
        assert time.monotonic() < deadline, f"{arn} is still running"
        time.sleep(0.1)


def _events(client: Any, arn: str) -> list[dict[str, Any]]:
    return client.get_durable_execution_history(DurableExecutionArn=arn, IncludeExecutionData=True)["Events"]


def shape(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each event as (type, name, sub-type, has a parent, its details): without operation ids,
    times, request ids, callback ids and error types, and results as values."""
    out = []
    for event in events:
        details = next((v for k, v in event.items() if k.endswith("Details")), {})
        kept = {
            k: v
            for k, v in details.items()
            if k not in ("ScheduledEndTimestamp", "StartTimestamp", "EndTimestamp", "RequestId", "CallbackId")
        }
        if "Error" in kept:
            kept["Error"] = {
                **kept["Error"],
                "Payload": {"ErrorMessage": kept["Error"]["Payload"]["ErrorMessage"]},
            }
        if "Result" in kept:  # the same value, written by JSON.stringify or json.dumps
            kept["Result"] = {**kept["Result"], "Payload": json.loads(kept["Result"]["Payload"])}
        out.append((event["EventType"], event.get("Name"), event.get("SubType"), "ParentId" in event, kept))
    return out


def test_steps_a_wait_and_a_retry(server: Any) -> None:
    outcomes = {}
    for sdk in ("js", "py"):
        response = server.invoke(FunctionName=f"{sdk}-journey", Payload=b'{"n": 2}')
        assert "FunctionError" not in response, response["Payload"].read()
        arn = response["DurableExecutionArn"]
        outcomes[sdk] = (json.loads(response["Payload"].read()), shape(_events(server, arn)))
    assert outcomes["js"][0] == {"first": 20, "second": 21, "attempts": 3}
    assert outcomes["js"] == outcomes["py"]
    kinds = [event[0] for event in outcomes["js"][1]]
    assert kinds.count("StepFailed") == 2 and kinds.count("WaitSucceeded") == 1
    assert kinds.count("InvocationCompleted") == 4  # the wait and each retry end an invocation


def test_a_callback_answered_from_outside(server: Any) -> None:
    outcomes = {}
    for sdk in ("js", "py"):
        arn = server.invoke(FunctionName=f"{sdk}-approval", InvocationType="Event", Payload=b"{}")[
            "DurableExecutionArn"
        ]
        callback_id = _callback_id(server, arn)
        server.send_durable_execution_callback_success(CallbackId=callback_id, Result=b'"yes"')
        execution = _finish(server, arn)
        outcomes[sdk] = (execution["Status"], json.loads(execution["Result"]), shape(_events(server, arn)))
    assert outcomes["js"][:2] == ("SUCCEEDED", {"answer": '"yes"'})  # the raw result
    assert outcomes["js"] == outcomes["py"]


def _callback_id(client: Any, arn: str) -> str:
    """The callback's id once the invocation that created it has ended, so the history's
    order does not depend on whether the answer beats the function's suspension."""
    deadline = time.monotonic() + 60
    while True:
        events = _events(client, arn)
        ended = any(event["EventType"] == "InvocationCompleted" for event in events)
        for event in events:
            if event["EventType"] == "CallbackStarted" and ended:
                return str(event["CallbackStartedDetails"]["CallbackId"])
        assert time.monotonic() < deadline, "no callback was started"
        time.sleep(0.1)
