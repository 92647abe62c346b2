"""The console's benchmark (benchmarks/console.py) runs: a smoke run at a small size. It
measures the first-paint data of a page; no test asserts a timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_console_benchmark_times_every_first_paint_request() -> None:
    small = ["--executions", "40", "--operations", "30", "--runs", "2"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "console.py"), *small],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("built 40 executions (30 operations in one)")
    rows = [line for line in lines[2:] if line.strip()]
    assert len(rows) == 8 and all(row.rstrip().endswith(("PASS", "MISS")) for row in rows), done.stdout
    assert any(row.startswith("execution: 30 operations") for row in rows)
