"""Random SIGKILLs: `perdure run --name X` is killed at random moments and re-run until it ends.

Kills land inside step bodies, around checkpoints and during the real 1 s wait. Checked
at the end: the result is right, every step ran, and no at-most-once attempt started
twice (an interrupted at-most-once attempt is retried as a new attempt, never re-run).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from .helpers import FLOWS, kept_every_acknowledged_checkpoint, perdure_command, run_with_random_kills

STEPS = 12
KILLS = 4


def test_random_kills_until_done(tmp_path: Path):
    trace = tmp_path / "trace.txt"
    env = {**os.environ, "CRASH_LOOP_TRACE": str(trace), "CRASH_LOOP_SLOW": "0.15"}
    env.pop("PERDURE_DB", None)
    args = perdure_command(
        "run", f"{FLOWS}/crash_loop.py:handler", "--input", str(STEPS), "--name", "loop", "--json"
    )
    outcome, snapshots = run_with_random_kills(args, tmp_path, env, trace, KILLS)
    assert outcome["status"] == "SUCCEEDED"
    assert outcome["result"] == sum(range(STEPS))
    final = kept_every_acknowledged_checkpoint(tmp_path, env, snapshots)
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
