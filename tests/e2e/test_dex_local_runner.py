"""perdure's SDK behind the official HTTP emulator, `dex-local-runner`, gets the official results.

`dex-local-runner start-server` (the official testing library's web server, run from the
peer venv `benchmarks/.peer-venv`, created here on first use as `make bench` does) is the
durable-execution control plane only: it invokes each function through a Lambda Invoke
endpoint. Here that endpoint is `perdure.link.lambda_host`, serving `official/handler.py`
(a map checkpointed with ReplayChildren, a callback, a step retried once) and pointing the
handler's SDK back at the emulator with `AWS_ENDPOINT_URL_LAMBDA`. The handler runs twice:
on perdure's SDK in this project's venv, and on the official SDK in the peer venv (the
same host, started with the peer venv's Python). The test drives the emulator over HTTP as
a user would: it starts the execution on `POST /start-durable-execution`, answers the
callback and reads the outcome and the history with boto3. Both SDKs must reach the same
status, result and history.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest

from .helpers import free_port

boto3 = pytest.importorskip("boto3")

ROOT = Path(__file__).resolve().parents[2]
PEER = ROOT / "benchmarks" / ".peer-venv" / "bin"
HANDLER = Path(__file__).parent / "official" / "handler.py"
REGION = "us-west-2"
DEADLINE_SECONDS = 60.0


def _until(what: str, probe: Any, log: Path) -> Any:
    """Polls `probe()` until it returns something truthy; fails naming `what` and the logs."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}; logs:\n{log.read_text()[-4000:]}")


@contextmanager
def _process(command: list[str], env: dict[str, str], log: IO[str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _history(client: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    marker: dict[str, str] = {}
    while True:
        page = client.get_durable_execution_history(
            DurableExecutionArn=arn, IncludeExecutionData=True, **marker
        )
        events += page["Events"]
        if not page.get("NextMarker"):
            return events
        marker = {"Marker": page["NextMarker"]}


def _callback_ready(client: Any, arn: str) -> str | None:
    """The approval callback's id once the invocation that created it has ended."""
    events = _history(client, arn)
    for index, event in enumerate(events):
        if event["EventType"] == "CallbackStarted" and event.get("Name") == "approval":
            later = events[index + 1 :]
            if any(e["EventType"] == "InvocationCompleted" for e in later):
                return str(event["CallbackStartedDetails"]["CallbackId"])
    return None


def _run_on_dex(sdk: str, tmp_path: Path) -> dict[str, Any]:
    """Runs the handler on `sdk` behind dex-local-runner; returns what a user can observe."""
    dex_url = f"http://127.0.0.1:{free_port()}"
    log_path = tmp_path / f"{sdk}.log"
    python = sys.executable if sdk == "perdure" else str(PEER / "python")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "E2E_SDK": sdk,
        "AWS_ENDPOINT_URL_LAMBDA": dex_url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    host_log = tmp_path / f"{sdk}-host.log"
    with (
        open(log_path, "w") as log,
        open(host_log, "w") as hlog,
        _process(
            [python, "-m", "perdure.link.lambda_host", "--port", "0", f"e2e={HANDLER}:handler"], env, hlog
        ),
    ):
        line = _until(
            "the lambda host",
            lambda: next((ln for ln in host_log.read_text().splitlines() if "listening on" in ln), None),
            host_log,
        )
        host_url = line.rsplit(" ", 1)[1]
        server = [
            str(PEER / "dex-local-runner"),
            "start-server",
            "--host",
            "127.0.0.1",
            "--port",
            dex_url.rsplit(":", 1)[1],
            "--lambda-endpoint",
            host_url,
            "--local-runner-region",
            REGION,
            "--skip-time",
            "--log-level",
            "WARNING",
        ]
        with _process(server, env, log):
            _until("dex-local-runner /health", lambda: _healthy(dex_url), log_path)
            start = {
                "AccountId": "123456789012",
                "FunctionName": "e2e",
                "FunctionQualifier": "$LATEST",
                "ExecutionName": "dex-e2e",
                "ExecutionTimeoutSeconds": 120,
                "ExecutionRetentionPeriodDays": 1,
                "Input": json.dumps({"items": list(range(6))}),
            }
            request = urllib.request.Request(
                f"{dex_url}/start-durable-execution",
                data=json.dumps(start).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as answer:
                assert answer.status == 201
                arn = json.loads(answer.read())["ExecutionArn"]
            client = boto3.client(
                "lambda",
                endpoint_url=dex_url,
                region_name=REGION,
                aws_access_key_id="test",
                aws_secret_access_key="test",
            )
            callback_id = _until("the approval callback", lambda: _callback_ready(client, arn), log_path)
            client.send_durable_execution_callback_success(
                CallbackId=callback_id, Result=json.dumps({"approved": True}).encode()
            )
            done = _until(
                "a terminal status",
                lambda: (
                    (found := client.get_durable_execution(DurableExecutionArn=arn))["Status"] != "RUNNING"
                    and found
                ),
                log_path,
            )
            events = _history(client, arn)
    big_map = next(e for e in events if e["EventType"] == "ContextSucceeded" and e.get("Name") == "big-map")
    payload = big_map["ContextSucceededDetails"]["Result"]["Payload"]
    return {
        "status": done["Status"],
        "result": json.loads(done["Result"]) if done.get("Result") else None,
        "error": done.get("Error"),
        "events": [(e["EventType"], e.get("Name"), e.get("SubType")) for e in events],
        "map_summary": {k: v for k, v in json.loads(payload).items() if k != "perdure"},
        "map_bytes": len(payload.encode()),
    }


def test_perdure_sdk_behind_dex_local_runner_gets_the_official_results(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--install-peer"], check=True, timeout=600
    )
    official, perdure = _run_on_dex("official", tmp_path), _run_on_dex("perdure", tmp_path)
    assert official["status"] == "SUCCEEDED" and official["error"] is None
    assert official["result"] == {
        "total": 300_000,
        "items": 6,
        "approval": '{"approved": true}',
        "attempts": 2,
    }
    # The map's 300,000 characters of results are over 256 KiB: it is checkpointed with a
    # summary and rebuilt from its children by the invocations after the callback. perdure
    # adds to the official summary (its "perdure" field) as many results as fit in 256 KiB.
    assert official["map_summary"]["successCount"] == 6 and official["map_bytes"] < 1000
    assert official["map_bytes"] < perdure["map_bytes"] <= 256 * 1024
    assert [event[0] for event in official["events"]].count("InvocationCompleted") == 3
    assert {**perdure, "map_bytes": None} == {**official, "map_bytes": None}
