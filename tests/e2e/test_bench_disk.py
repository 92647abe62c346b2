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
    assert not any(tmp_path.iterdir())  # the file and its WAL are removed


def test_a_w1_row_reports_its_cpu_beside_the_commit_rate_and_without_fsync() -> None:
    row = run.measure("perdure", "W1-100", 1, timeout=120)  # two fresh workers: with and without
    assert row["ok"], row
    assert row["cpu_seconds"] > 0 and row["cpu_seconds_without_fsync"] > 0
    assert "cpu_us_per_commit_without_fsync" in row["commit_rate"]

    table = run.disk_table(run.disk({"W1-100": {"perdure": row}}, [workloads.find("W1-100")]))
    assert "W1-100" in table and "target <= 250" in table
    assert "without the fsync" in table and "without fsync at commit (synchronous=NORMAL" in table


def test_a_failed_diagnostic_leaves_the_row_standing() -> None:
    row = run.merge([{"ok": True, "seconds": 1.0, "runs": [], "peak_mb": 1.0, "cpu_seconds": 0.5}])
    assert "cpu_seconds_without_fsync" not in row
    table = run.disk_table(
        run.disk(
            {
                "W1-100": {
                    "perdure": {**row, "commit_rate": {"commits_per_s": 100.0, "cpu_us_per_commit": 50.0}}
                }
            },
            [workloads.find("W1-100")],
        )
    )
    assert "W1-100" in table and "without fsync at commit" not in table and "without the fsync" not in table


def test_the_diagnostic_is_refused_for_other_rows() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "worker.py"), "perdure", "W2-100", "--without-fsync"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    row = json.loads(proc.stdout.splitlines()[-1])
    assert row["ok"] is False and "W1 rows only" in row["error"]
