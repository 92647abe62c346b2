"""Through `perdure serve`: a member of the wrong JSON type, an error too large to store and a
Marker the service never returned are 400 InvalidParameterValueException, never a 5xx, and the
execution is unchanged."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from perdure.wire import limits

from .helpers import FLOWS
from .test_http_serve_cli import serve

pytestmark = pytest.mark.timeout(90)

APPROVAL = f"{FLOWS}/http_flows.py:approval"


def send(url: str, method: str, path: str, body: Any = None) -> tuple[int, str, dict[str, Any]]:
    """(status, X-Amzn-ErrorType, JSON body) of one raw request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, "", json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("X-Amzn-ErrorType", ""), json.loads(error.read() or b"{}")


def wait_until_suspended(client: Any, arn: str) -> list[dict[str, Any]]:
    """The history once the first invocation has ended (the execution waits for its callback)."""
    deadline = time.monotonic() + 30
    while True:
        events = client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
        if any(e["EventType"] == "InvocationCompleted" for e in events):
            return list(events)
        assert time.monotonic() < deadline, "the execution did not suspend on its callback"
        time.sleep(0.02)


def test_bad_members_are_400_and_change_nothing(tmp_path: Path) -> None:
    with serve("--memory", "--function", f"approval={APPROVAL}", cwd=tmp_path) as served:
        arn = served.client.invoke(FunctionName="approval", Payload=b"{}", InvocationType="Event")[
            "DurableExecutionArn"
        ]
        quoted = urllib.parse.quote(arn, safe="")
        base = f"/2025-12-01/durable-executions/{quoted}"
        history = wait_until_suspended(served.client, arn)
        refused = [  # StopDurableExecution's body is its Error (the model's payload member)
            ("POST", f"{base}/stop", {"ErrorMessage": {"nested": 1}}, "ErrorMessage"),
            (
                "POST",
                f"{base}/stop",
                {"ErrorMessage": "m" * (limits.MAX_ERROR_BYTES + 1)},
                "Error is",
            ),
            ("POST", f"{base}/checkpoint", {"CheckpointToken": "t", "ClientToken": 5}, "ClientToken"),
            (
                "POST",
                f"{base}/checkpoint",
                {"CheckpointToken": "t", "Updates": [{"Id": {"a": 1}, "Type": "STEP", "Action": "START"}]},
                "Id",
            ),
            ("GET", f"{base}/history?Marker={2**63}", None, "Marker"),
            ("GET", f"{base}/history?Marker=-1", None, "Marker"),
        ]
        for method, path, body, member in refused:
            status, code, answer = send(served.url, method, path, body)
            assert (status, code) == (400, "InvalidParameterValueException"), (
                path,
                body and str(body)[:80],
                answer,
            )
            assert member in answer["Message"], answer
        assert served.client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING"
        assert served.client.get_durable_execution_history(DurableExecutionArn=arn)["Events"] == history
        assert served.stop()[0] == 0
