"""Random SIGKILLs: `perdure run --name X` is killed at random moments and re-run until it ends.

Kills land inside step bodies, around checkpoints and during the real 1 s wait. Checked
at the end: the result is right, every step ran, and no at-most-once attempt started
twice (an interrupted at-most-once attempt is retried as a new attempt, never re-run).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from .helpers import FLOWS, last_json, perdure_command, run_cli

STEPS = 12
KILLS = 4


def test_random_kills_until_done(tmp_path: Path):
    trace = tmp_path / "trace.txt"
    env = {**os.environ, "CRASH_LOOP_TRACE": str(trace), "CRASH_LOOP_SLOW": "0.15"}
    env.pop("PERDURE_DB", None)
    args = perdure_command(
        "run", f"{FLOWS}/crash_loop.py:handler", "--input", str(STEPS), "--name", "loop", "--json"
    )
    rng = random.Random(int(os.environ.get("PERDURE_KILL_SEED", "7")))
    kills = 0
    snapshots: list[dict[int, tuple[str, str | None]]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        process = subprocess.Popen(
            args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        if kills < KILLS and _progress_then_pause(process, trace, rng):
            # killed at a random moment after this run made progress: inside a step body,
            # around a checkpoint send, or during the real 1 s wait
            process.send_signal(signal.SIGKILL)
            process.communicate()
            kills += 1
            snapshots.append(_history(tmp_path, env))
            continue
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        outcome = last_json(stdout)
        break
    else:
        raise AssertionError("the execution did not finish")
    assert kills >= KILLS - 1  # the last pause may outlast the run
    assert outcome["status"] == "SUCCEEDED"
    assert outcome["result"] == sum(range(STEPS))
    # no acknowledged checkpoint is lost: what any killed run had recorded is still there
    final = _history(tmp_path, env)
    for snapshot in snapshots:
        assert all(final.get(event_id) == event for event_id, event in snapshot.items()), snapshot
    succeeded = Counter(event[1] for event in final.values() if event[0] == "StepSucceeded")
    assert len(succeeded) == STEPS and set(succeeded.values()) == {1}
    lines = trace.read_text().splitlines()
    starts = Counter(line for line in lines if not line.endswith("done"))
    for index in range(STEPS):
        name = f"{'once' if index % 2 else 'least'}-{index}"
        assert any(line.startswith(f"{name} ") and line.endswith("done") for line in lines), name
        if index % 2:
            twice = [k for k, n in starts.items() if k.startswith(f"{name} ") and n > 1]
            assert not twice, f"an at-most-once attempt started twice: {twice}"


def _history(cwd: Path, env: dict[str, str]) -> dict[int, tuple[str, str | None]]:
    """EventId -> (EventType, operation Id) of the `loop` execution, as stored now."""
    listed = run_cli("list", "--json", cwd=cwd, env=env)
    assert listed.returncode == 0, listed.stderr
    executions = json.loads(listed.stdout)["DurableExecutions"]
    if not executions:
        return {}
    arn = executions[0]["DurableExecutionArn"]
    shown = run_cli("history", arn, "--json", cwd=cwd, env=env)
    assert shown.returncode == 0, shown.stderr
    return {e["EventId"]: (e["EventType"], e.get("Id")) for e in json.loads(shown.stdout)["Events"]}


def _progress_then_pause(process: subprocess.Popen[str], trace: Path, rng: random.Random) -> bool:
    """Wait until the run writes a new trace line, then a random pause; False if it ended first."""
    seen = len(trace.read_text().splitlines()) if trace.exists() else 0
    while process.poll() is None:
        now = len(trace.read_text().splitlines()) if trace.exists() else 0
        if now > seen:
            time.sleep(rng.uniform(0.0, 0.6))
            return process.poll() is None
        time.sleep(0.01)
    return False
