"""The official AWS SDK's own handlers on perdure's engine, and perdure's SDK on the same code.

`official/drive.py` runs each handler as AWS Lambda does (a JSON event; checkpoints
through the SDK's boto3 client against perdure's HTTP API, on a SQLite file), twice:
- with the official `aws-durable-execution-sdk-python` 3.0, in the peer venv
  (`benchmarks/.peer-venv`, created here on first use as `make bench` does), with perdure
  importable from the repository: the engine's wire contract from the other side;
- with perdure's SDK running the same code through its import alias (`perdure.compat`).
Both must give the same status, result and history: the same operation ids, names,
sub-types and parents, so an execution can move between the two SDKs. The cases cover
steps and a wait, map (NESTED and FLAT, results over 256 KiB recorded with ReplayChildren
and rebuilt on replay), parallel with a child context, a child context over 256 KiB,
retries, wait for condition, chained invoke, a callback sent from outside and one timing
out, completion policies (failures tolerated, first successful, all completed, fail fast;
errors read by the official `ErrorObject` names), parallel inside map and an at-most-once
step. One case differs on purpose: a step payload over 256 KiB, which perdure's SDK
refuses before sending it and the official SDK sends, to have the engine refuse it.
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
DRIVE = Path(__file__).parent / "official" / "drive.py"

EXPECTED = {
    "steps_and_wait": ("SUCCEEDED", 100),
    "map_over_256_kib": ("SUCCEEDED", [len(str(i)) * 20_000 for i in range(30)]),
    "flat_map": ("SUCCEEDED", [f"{i:02d}" for i in range(12)]),
    "parallel_and_child": ("SUCCEEDED", [1, 2, 3]),
    "child_over_256_kib": ("SUCCEEDED", 300_000),
    "step_fails_after_retries": ("FAILED", None),
    "wait_for_condition": ("SUCCEEDED", 3),
    "step_payload_over_256_kib": ("FAILED", None),
    "map_tolerating_failures": (
        "SUCCEEDED",
        {"results": [1, 2, 4, 5, 7, 8], "reason": "ALL_COMPLETED", "failed": [0, 3, 6, 9]},
    ),
    "parallel_first_successful": (
        "SUCCEEDED",
        {"results": ["a"], "reason": "MIN_SUCCESSFUL_REACHED", "items": 1},
    ),
    "parallel_all_completed": (
        "SUCCEEDED",
        {"results": [1, 3], "errors": ["ValueError"], "reason": "ALL_COMPLETED"},
    ),
    "map_failing_fast": (
        "SUCCEEDED",
        {"reason": "FAILURE_TOLERANCE_EXCEEDED", "statuses": ["SUCCEEDED", "SUCCEEDED", "FAILED"]},
    ),
    "parallel_inside_map": ("SUCCEEDED", [[1, 10], [2, 20]]),
    "at_most_once_step": ("SUCCEEDED", 5),
    "callback_timing_out": ("SUCCEEDED", "ChildContextError"),  # wait_for_callback is a child context
    "caller": ("SUCCEEDED", 42),
    "callback": ("SUCCEEDED", {"ok": 7}),
}


def _drive(python: Path | str, db: Path, *flags: str) -> dict[str, dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PERDURE_DB", None)
    done = subprocess.run(
        [str(python), str(DRIVE), str(db), *flags], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {line["case"]: line for line in map(json.loads, done.stdout.splitlines())}


def test_official_and_perdure_sdks_on_perdure_agree(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--install-peer"], check=True, timeout=600
    )
    official = _drive(PEER_PYTHON, tmp_path / "official.db")
    perdure = _drive(sys.executable, tmp_path / "perdure.db", "--perdure")
    for outcomes in (official, perdure):
        assert {case: (o["status"], o["result"]) for case, o in outcomes.items()} == EXPECTED
    assert official["step_fails_after_retries"]["error"]["type"].endswith(".StepError")
    assert perdure["step_fails_after_retries"]["error"]["type"].endswith(".StepError")
    for case in EXPECTED:
        if case != "step_payload_over_256_kib":
            assert official[case]["history"] == perdure[case]["history"], case
    # The official SDK sends the 300 KB payload and the engine refuses it; perdure's SDK
    # refuses it first, naming the size and the limit, and records the step as failed.
    sent = official["step_payload_over_256_kib"]
    assert "InvalidParameterValueException" in sent["error"]["message"]
    assert "over the 262144-byte limit" in sent["error"]["message"]
    assert sent["history"] == []
    refused = perdure["step_payload_over_256_kib"]
    assert refused["error"]["type"].endswith("SerDesError")
    assert "300,002 bytes, over the 262,144-byte" in refused["error"]["message"]
    assert [event[0] for event in refused["history"]] == ["StepFailed", "StepStarted"]
