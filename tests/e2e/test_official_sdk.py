"""The official AWS SDK's own handlers on perdure's engine: the wire contract from the other side.

`official/drive.py` runs in the peer venv (`benchmarks/.peer-venv`: the official
`aws-durable-execution-sdk-python` 3.0, created here on first use, as `make bench` does),
with perdure importable from the repository. Each handler gets the invocation input as a
JSON event and calls perdure's HTTP API through the official SDK's own boto3 client: steps
and waits, map and parallel (NESTED and FLAT, results over 256 KiB recorded with
ReplayChildren and rebuilt on replay), a child context over 256 KiB, retries, wait for
condition, chained invoke, a callback sent from outside, and an oversized step payload.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PEER_PYTHON = ROOT / "benchmarks" / ".peer-venv" / "bin" / "python"

EXPECTED = {
    "steps_and_wait": ("SUCCEEDED", 100),
    "map_over_256_kib": ("SUCCEEDED", [len(str(i)) * 20_000 for i in range(30)]),
    "flat_map": ("SUCCEEDED", [f"{i:02d}" for i in range(12)]),
    "parallel_and_child": ("SUCCEEDED", [1, 2, 3]),
    "child_over_256_kib": ("SUCCEEDED", 300_000),
    "step_fails_after_retries": ("FAILED", None),
    "wait_for_condition": ("SUCCEEDED", 3),
    "step_payload_over_256_kib": ("FAILED", None),
    "caller": ("SUCCEEDED", 42),
    "callback": ("SUCCEEDED", {"ok": 7}),
}


def test_official_sdk_handlers_run_on_perdure(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--install-peer"], check=True, timeout=600
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PERDURE_DB", None)
    done = subprocess.run(
        [
            str(PEER_PYTHON),
            str(Path(__file__).parent / "official" / "drive.py"),
            str(tmp_path / "official.db"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = {line["case"]: line for line in map(json.loads, done.stdout.splitlines())}
    assert {case: (o["status"], o["result"]) for case, o in outcomes.items()} == EXPECTED
    failed = outcomes["step_fails_after_retries"]["error"]
    assert failed["type"].endswith("StepError") and failed["message"] == "nope"
    refused = outcomes["step_payload_over_256_kib"]["error"]["message"]
    assert "InvalidParameterValueException" in refused and "over the 262144-byte limit" in refused
