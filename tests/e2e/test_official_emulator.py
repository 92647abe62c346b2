"""perdure's SDK on the official testing library's emulator gets the official SDK's results.

`official/emulator.py` runs one handler (a map checkpointed with ReplayChildren, a
callback, a step retried once) on the official in-process runner
(`DurableFunctionTestRunner`), which calls the handler with its own invocation input and
service client, and names executions with ids that are not ARNs. It runs twice in the
peer venv (`benchmarks/.peer-venv`, the official SDK 3.0 and its testing library, created
here on first use as `make bench` does): once with the official SDK, once with perdure's
(on `PYTHONPATH`). Both must reach the same outcome and the same history.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PEER_PYTHON = ROOT / "benchmarks" / ".peer-venv" / "bin" / "python"
EMULATOR = Path(__file__).parent / "official" / "emulator.py"


def _run(sdk: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [str(PEER_PYTHON), str(EMULATOR), sdk], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_perdure_sdk_on_the_official_emulator_gets_the_official_results() -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--install-peer"], check=True, timeout=600
    )
    official, perdure = _run("official"), _run("perdure")
    assert official["status"] == "InvocationStatus.SUCCEEDED" and official["error"] is None
    assert official["result"] == {
        "total": 300_000,
        "items": 6,
        "approval": '{"approved": true}',
        "attempts": 2,
    }
    # The map's 300,000 characters of results are over 256 KiB: the map is checkpointed
    # with ReplayChildren and a summary, and the invocations after the callback rebuild it.
    # perdure adds to the official summary (its "perdure" field) as many results as fit.
    assert official["map_replay_children"] is True
    assert official["map_summary"]["successCount"] == 6 and official["map_bytes"] < 1000
    assert official["map_bytes"] < perdure["map_bytes"] <= 256 * 1024
    assert not official["more_history"]
    assert [event[0] for event in official["events"]].count("InvocationCompleted") == 3
    assert {**perdure, "map_bytes": None} == {**official, "map_bytes": None}
