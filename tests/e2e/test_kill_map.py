"""Random SIGKILLs during a map (NESTED and FLAT): concurrent branches, ReplayChildren, a real wait.

`perdure run --name X` is killed at random moments (inside branch steps, around the
checkpoints of concurrent branches, during the wait) and re-run until it ends. Checked:
the result is complete and in order, no acknowledged checkpoint was lost, every item's
step succeeded exactly once in the history, and the map recorded one SUCCEED.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from .helpers import FLOWS, kept_every_acknowledged_checkpoint, perdure_command, run_with_random_kills

ITEMS = 32
KILLS = 4


@pytest.mark.parametrize("nesting", ["NESTED", "FLAT"])
def test_random_kills_during_a_map_until_done(tmp_path: Path, nesting: str):
    trace = tmp_path / "trace.txt"
    env = {**os.environ, "CRASH_LOOP_TRACE": str(trace), "CRASH_LOOP_SLOW": "0.15"}
    env.pop("PERDURE_DB", None)
    event = json.dumps({"items": ITEMS, "nesting": nesting})
    args = perdure_command(
        "run", f"{FLOWS}/crash_map.py:handler", "--input", event, "--name", "map", "--json"
    )
    outcome, snapshots = run_with_random_kills(args, tmp_path, env, trace, KILLS)
    assert outcome["status"] == "SUCCEEDED"
    assert outcome["result"] == {"lengths": [20_000], "heads": [f"{i:04d}" for i in range(ITEMS)]}
    final = kept_every_acknowledged_checkpoint(tmp_path, env, snapshots)
    succeeded = Counter(op_id for kind, op_id in final.values() if kind == "StepSucceeded")
    assert len(succeeded) == ITEMS and set(succeeded.values()) == {1}
    contexts = Counter(kind for kind, _ in final.values() if kind.startswith("Context"))
    branches = ITEMS if nesting == "NESTED" else 0  # FLAT branches have no CONTEXT of their own
    assert contexts["ContextStarted"] == contexts["ContextSucceeded"] == 1 + branches
    lines = trace.read_text().splitlines()
    for item in range(ITEMS):
        assert any(line.startswith(f"item-{item} ") and line.endswith("done") for line in lines), item
