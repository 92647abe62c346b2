"""The async face runs thousands of concurrent operations on a fixed number of threads.

benchmarks/async_scale.py runs in a subprocess (so its peak RSS is its own): one execution
gathering 10,000 async steps at once, and an async map of 10,000 items (one async step
each) at max_concurrency 1,000, on an engine whose operation limit is raised above AWS's
3,000. Each must succeed with the right result, stay under 300 MB, and start no thread
for its operations: async bodies and branches run as tasks on the one event loop (the
sync face runs such a map on up to 256 branch threads). Each takes a few seconds of CPU.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from perdure.sdk.threads import MAX_OFF_LOOP_THREADS

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "async_scale.py"
MAX_THREADS = 8
"""The main thread, the event loop's, the checkpoint sender's and the engine's four
scheduler workers, and one to spare. Async bodies take no thread (only sync step bodies
run on worker threads, and these flows have none)."""


def scale(*args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"exit {proc.returncode}; stderr:\n{proc.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(lines[-1])
    return report


@pytest.mark.parametrize(
    "args", [("gather", "10000"), ("map", "10000", "--concurrency", "1000")], ids=["gather", "map"]
)
def test_thousands_of_concurrent_operations_few_threads(args: tuple[str, ...]) -> None:
    report = scale(*args)
    assert report["ok"], report
    assert report["operations"] >= 10_000  # above AWS's 3,000 operations per execution
    assert report["peak_threads"] <= MAX_THREADS, report
    assert report["peak_rss_mb"] < 300, report


def test_blocking_sync_bodies_share_the_worker_threads() -> None:
    """5,000 gathered steps whose sync bodies block: they queue for the worker threads (at most
    MAX_OFF_LOOP_THREADS at once) instead of taking a thread each."""
    report = scale("gather-sync", "5000")
    assert report["ok"], report
    assert report["peak_threads"] <= MAX_THREADS + MAX_OFF_LOOP_THREADS, report
    assert report["peak_rss_mb"] < 300, report
