"""The async face runs thousands of concurrent operations on a bounded number of threads.

benchmarks/async_scale.py runs in a subprocess (so its peak RSS is its own): one execution
gathering N async steps at once, and an async map of N items at max_concurrency C. The
run must succeed with the right result, start no thread per operation, and stay under
300 MB. The full size (10,000 steps; 10,000 items at 1,000) is in benchmarks/README.md;
here N is smaller to keep `make test` quick, which does not change the bounds: a design
with a thread per running operation would need thousands of threads at either size.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "async_scale.py"
MAX_THREADS = 40
"""More than the engine's scheduler workers, the checkpoint sender and a pool for sync step
bodies together; far fewer than the concurrent operations."""


def scale(*args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"exit {proc.returncode}; stderr:\n{proc.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(lines[-1])
    return report


@pytest.mark.parametrize(
    "args", [("gather", "3000"), ("map", "3000", "--concurrency", "1000")], ids=["gather", "map"]
)
def test_thousands_of_concurrent_operations_few_threads(args: tuple[str, ...]) -> None:
    report = scale(*args)
    assert report["ok"], report
    assert report["operations"] > int(args[1])  # above AWS's 3,000 operations per execution
    assert report["peak_threads"] <= MAX_THREADS, report
    assert report["peak_rss_mb"] < 300, report
