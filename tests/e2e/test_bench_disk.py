"""The W1 report of benchmarks/ (a smoke test: it measures, it asserts no timing): a W1 row
carries the disk's commit rate beside it and the diagnostic run without fsyncs, and the
report prints both."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import disk
import run
import workloads

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_the_commit_rate_is_measured_with_and_without_the_fsync(tmp_path: Path) -> None:
    rate = disk.commit_rate(tmp_path, seconds=0.01)
    assert rate["commits"] >= disk.MIN_COMMITS
    assert rate["commits_per_s"] > 0
    assert rate["cpu_us_per_commit"] >= 0 and rate["cpu_us_per_commit_without_fsync"] >= 0
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the file and its WAL are removed


def test_a_w1_row_reports_its_cpu_beside_the_commit_rate_and_without_fsync() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "worker.py"), "perdure", "W1-100"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    row = json.loads(proc.stdout.splitlines()[-1])
    assert row["ok"], row
    assert row["cpu_seconds"] > 0 and row["cpu_seconds_without_fsync"] > 0
    assert "cpu_us_per_commit_without_fsync" in row["commit_rate"]

    w1 = workloads.find("W1-100")
    rows = run.disk({"W1-100": {"perdure": run.merge([row])}}, [w1])
    table = run.disk_table(rows)
    assert "W1-100" in table and "target <= 250" in table
    assert "without the fsync" in table and "without fsync (synchronous=NORMAL, a diagnostic)" in table
