"""Random SIGKILLs: `perdure run --name X` is killed at random moments and re-run until it ends.

Kills land inside step bodies, around checkpoints and during the real 1 s wait. Checked
at the end: the result is right, every step ran, and no at-most-once attempt started
twice (an interrupted at-most-once attempt is retried as a new attempt, never re-run).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from .helpers import FLOWS, last_json, perdure_command

STEPS = 8


def test_random_kills_until_done(tmp_path: Path):
    trace = tmp_path / "trace.txt"
    env = {**os.environ, "CRASH_LOOP_TRACE": str(trace), "CRASH_LOOP_SLOW": "0.15"}
    env.pop("PERDURE_DB", None)
    args = perdure_command(
        "run", f"{FLOWS}/crash_loop.py:handler", "--input", str(STEPS), "--name", "loop", "--json"
    )
    rng = random.Random(int(os.environ.get("PERDURE_KILL_SEED", "7")))
    kills = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        process = subprocess.Popen(
            args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            stdout, stderr = process.communicate(timeout=rng.uniform(0.3, 1.2) if kills < 12 else 60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.communicate()
            kills += 1
            continue
        assert process.returncode == 0, stderr
        outcome = last_json(stdout)
        break
    else:
        raise AssertionError("the execution did not finish")
    assert kills >= 3
    assert outcome["status"] == "SUCCEEDED"
    assert outcome["result"] == sum(range(STEPS))
    lines = trace.read_text().splitlines()
    starts = Counter(line for line in lines if not line.endswith("done"))
    for index in range(STEPS):
        name = f"{'once' if index % 2 else 'least'}-{index}"
        assert any(line.startswith(f"{name} ") and line.endswith("done") for line in lines), name
        if index % 2:
            twice = [k for k, n in starts.items() if k.startswith(f"{name} ") and n > 1]
            assert not twice, f"an at-most-once attempt started twice: {twice}"
