"""No invocation delays another: through `perdure serve`, a quick synchronous Invoke completes
while another function's step is still running (the test holds that step open with a file)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .helpers import FLOWS
from .test_http_serve_cli import serve

pytestmark = pytest.mark.timeout(90)

BLOCKING = f"{FLOWS}/blocking_flows.py"


def wait_for(path: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)


@pytest.mark.parametrize("store", [("--memory",), ("--db", "serve.db")], ids=["memory", "sqlite"])
def test_a_quick_sync_invoke_completes_while_another_step_runs(tmp_path: Path, store: tuple[str, ...]):
    started, release = tmp_path / "started", tmp_path / "release"
    functions = ("--function", f"held={BLOCKING}:held", "--function", f"quick={BLOCKING}:quick")
    with serve(*store, *functions, "--sync-timeout", "30", cwd=tmp_path) as served:
        held = served.client.invoke(
            FunctionName="held",
            Payload=json.dumps({"started": str(started), "release": str(release)}).encode(),
            InvocationType="Event",
        )["DurableExecutionArn"]
        wait_for(started)
        for n in range(2):
            quick = served.client.invoke(FunctionName="quick", Payload=json.dumps({"n": n}).encode())
            assert quick["StatusCode"] == 200 and json.loads(quick["Payload"].read()) == f"quick-{n}"
            # The held step is still running: the quick execution did not wait for it.
            assert not release.exists()
            assert served.client.get_durable_execution(DurableExecutionArn=held)["Status"] == "RUNNING"
        release.touch()
        deadline = time.monotonic() + 30
        while (execution := served.client.get_durable_execution(DurableExecutionArn=held))[
            "Status"
        ] == "RUNNING":
            assert time.monotonic() < deadline, "the held execution did not finish once released"
            time.sleep(0.05)
        assert execution["Status"] == "SUCCEEDED" and json.loads(execution["Result"]) == "released"
        assert served.stop()[0] == 0
