"""The disk's commit rate: what bounds one execution's sequential steps on the default store.

    python benchmarks/disk.py [--seconds 0.5] [DIRECTORY]

A loop of one-row transactions on a fresh SQLite file in DIRECTORY (default: a temp
directory), opened as `SqliteStore` opens its file (WAL journal, `synchronous=FULL`, the
same busy timeout; `BEGIN IMMEDIATE` ... `COMMIT`): one commit and one fsync each. Then,
for half as long, the same loop with `synchronous=NORMAL` (no fsync at commit): the CPU
time a bare commit's fsync costs the process is the difference. A
sequential step costs one such commit plus the CPU around it, so W1's steps/s as a
fraction of this rate says how much of a step is the disk. `worker.py` measures it in the
directory of the store it is about to run a W1 row on, in the same process. Measures;
never asserts.

The WAL is first grown to a working size (one 4 MiB transaction, then a checkpoint that
restarts it), so the loop's commits overwrite it as a running store's do (W1's commits
wrap its WAL after about 170 steps): a commit that appends to the file also has the
file's new size written, which on the development machine cost about 50 µs of CPU more
per commit and a lower rate.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from perdure.engine.store.sqlite import BUSY_TIMEOUT_MS, Durability

MIN_COMMITS = 50
WARM_BYTES = 4 << 20
"""The row that grows the WAL before the loop (about 1,000 pages, the store's autocheckpoint)."""


def commit_rate(directory: str | Path, seconds: float = 0.5) -> dict[str, Any]:
    """Commit one-row transactions for about `seconds` (at least `MIN_COMMITS`) on a new file
    in `directory`; the rate and the process CPU time per commit (all threads), and the CPU
    time per commit of the same loop without the fsync (`synchronous=NORMAL`, half as long)."""
    path = Path(directory) / "commit-rate.db"
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {Durability.FULL.value.upper()}")
        conn.execute("CREATE TABLE rows (key INTEGER PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO rows (value) VALUES (?)", ("x" * WARM_BYTES,))
        conn.execute("PRAGMA wal_checkpoint(RESTART)")
        conn.execute("DELETE FROM rows")
        commits, wall, cpu = _commit_loop(conn, seconds)
        # The same loop without the fsync (a diagnostic: what the fsync of a bare commit
        # costs the process; W1's report compares it with what its fsyncs cost a step).
        conn.execute(f"PRAGMA synchronous = {Durability.NORMAL.value.upper()}")
        unsynced, _, unsynced_cpu = _commit_loop(conn, seconds / 2)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return {
        "commits": commits,
        "commits_per_s": commits / wall,
        "cpu_us_per_commit": cpu / commits * 1e6,
        "cpu_us_per_commit_without_fsync": unsynced_cpu / unsynced * 1e6,
    }


def _commit_loop(conn: sqlite3.Connection, seconds: float) -> tuple[int, float, float]:
    """One-row transactions for about `seconds` (at least `MIN_COMMITS`): (commits, wall
    seconds, process CPU seconds)."""
    row = ("x" * 100,)
    commits = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    deadline = wall0 + seconds
    while commits < MIN_COMMITS or time.perf_counter() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO rows (value) VALUES (?)", row)
        conn.execute("COMMIT")
        commits += 1
    return commits, time.perf_counter() - wall0, time.process_time() - cpu0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", help="where the file goes (default: a temp directory)")
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args(argv)
    if args.directory:
        rate = commit_rate(args.directory, args.seconds)
    else:
        with tempfile.TemporaryDirectory(prefix="perdure-bench-") as tmp:
            rate = commit_rate(tmp, args.seconds)
    print(
        f"{rate['commits_per_s']:,.0f} commits/s ({rate['commits']} commits),"
        f" CPU {rate['cpu_us_per_commit']:.0f} us/commit"
        f" ({rate['cpu_us_per_commit_without_fsync']:.0f} without the fsync)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
