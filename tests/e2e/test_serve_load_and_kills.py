"""`perdure serve` under load and under SIGKILL, driven through boto3 as a client would.

Two hundred executions started at once all complete with the right result; a server killed
at random moments while thirty executions run, and restarted on the same database each time,
completes every one of them, and no at-most-once step attempt starts twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .helpers import FLOWS
from .http_links import lambda_client
from .test_http_serve_cli import serve

pytestmark = pytest.mark.timeout(240)

LOAD = f"load={FLOWS}/serve_load.py:handler"
STEPS = 6
EXPECTED = sum(range(STEPS))


def _start(url: str, ids: range) -> list[str]:
    """Start one execution per id with asynchronous (Event) invokes from 16 clients at once."""

    def start_some(part: list[int]) -> list[str]:
        client = lambda_client(url)
        arns = []
        for number in part:
            response = client.invoke(
                FunctionName="load",
                InvocationType="Event",
                Payload=json.dumps({"id": f"e{number}", "steps": STEPS}).encode(),
                DurableExecutionName=f"e{number}",
            )
            assert response["StatusCode"] == 202
            arns.append(response["DurableExecutionArn"])
        client.close()
        return arns

    numbers = list(ids)
    parts = [numbers[i::16] for i in range(16)]
    with ThreadPoolExecutor(16) as pool:
        return [arn for arns in pool.map(start_some, parts) for arn in arns]


def _statuses(client: Any, arns: list[str]) -> dict[str, dict[str, Any]]:
    return {arn: client.get_durable_execution(DurableExecutionArn=arn) for arn in arns}


def _wait_until_ended(client: Any, arns: list[str], seconds: float) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while True:
        executions = _statuses(client, arns)
        running = [arn for arn, execution in executions.items() if execution["Status"] == "RUNNING"]
        if not running or time.monotonic() > deadline:
            assert not running, f"{len(running)} executions still running"
            return executions
        time.sleep(0.2)


def _results(executions: dict[str, dict[str, Any]]) -> Counter[Any]:
    return Counter((e["Status"], json.loads(e.get("Result", "null"))) for e in executions.values())


def test_two_hundred_executions_started_at_once_all_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SERVE_LOAD_TRACE", str(tmp_path / "trace.txt"))  # the server inherits it
    args = ("--db", str(tmp_path / "load.db"), "--skip-time", "--function", LOAD)
    with serve(*args, cwd=tmp_path) as served:
        arns = _start(served.url, range(200))
        executions = _wait_until_ended(served.client, arns, 180)
        assert served.stop()[0] == 0
    assert _results(executions) == Counter({("SUCCEEDED", EXPECTED): 200})


def test_killed_and_restarted_server_completes_every_execution_at_most_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    trace = tmp_path / "trace.txt"
    monkeypatch.setenv("SERVE_LOAD_TRACE", str(trace))
    monkeypatch.setenv("SERVE_LOAD_SLOW", "0.05")
    rng = random.Random(int(os.environ.get("PERDURE_KILL_SEED", "7")))
    args = ("--db", str(tmp_path / "kills.db"), "--function", LOAD)
    arns: list[str] = []
    for _ in range(4):
        with serve(*args, cwd=tmp_path) as served:
            if not arns:
                arns = _start(served.url, range(30))
            lines = len(trace.read_text().splitlines()) if trace.exists() else 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # progress since the last restart
                if trace.exists() and len(trace.read_text().splitlines()) > lines + 10:
                    break
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.5))  # in a step body, around a checkpoint, in the wait
            served.process.send_signal(signal.SIGKILL)
            served.process.wait(timeout=30)
    with serve(*args, cwd=tmp_path) as served:
        executions = _wait_until_ended(served.client, arns, 180)
        assert served.stop()[0] == 0
    assert _results(executions) == Counter({("SUCCEEDED", EXPECTED): 30})
    lines = trace.read_text().splitlines()
    starts = Counter(line for line in lines if not line.endswith(" done"))
    ended = Counter(line.removesuffix(" done") for line in lines if line.endswith(" done"))
    assert starts - ended, "no kill landed inside a step body"
    twice = [line for line, count in starts.items() if " once-" in line and count > 1]
    assert not twice, f"an at-most-once attempt started twice: {twice}"
    for number in range(30):
        for index in range(STEPS):
            name = f"{'once' if index % 2 else 'least'}-{index}"
            assert any(line.startswith(f"e{number} {name} ") for line in starts), (number, name)
