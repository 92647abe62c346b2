"""Throughput of many executions at once: 100 executions of 20 steps each, started together
on one engine over the default SQLite store (synchronous=FULL, a temp-dir file), with group
commit on and off in the same run.

    python benchmarks/throughput.py [--executions 100] [--steps 20] [--workers 100] [--json]
                                    [--db postgresql://...]

With `--db URL` it runs on a PostgreSQL store instead (a fresh schema, dropped afterwards).

Reports durable steps/s (wall), and the process CPU time per step beside the wall time per
step: when CPU time per step approaches wall time per step, the interpreter (one core under
the GIL), not the disk, is the limit. Measures; never asserts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import perdure
from perdure.engine import Engine, SqliteStore
from perdure.link.inprocess import InProcessInvocable

if TYPE_CHECKING:
    from perdure.engine.store.postgres import PostgresStore


def _handler(steps: int) -> Any:
    @perdure.durable_execution
    def handler(event: Any, ctx: Any) -> int:
        total = 0
        for i in range(steps):
            total += ctx.step(lambda _, i=i: i, name=f"s{i}")
        return total

    return handler


@contextmanager
def _store(db: str | None, group_commit: bool) -> Iterator[SqliteStore | PostgresStore]:
    if db is None:
        with tempfile.TemporaryDirectory(prefix="perdure-throughput-") as tmp:
            yield SqliteStore(Path(tmp) / "perdure.db", group_commit=group_commit)
        return
    import psycopg

    from perdure.engine.store.postgres import PostgresStore

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        yield PostgresStore(db, schema=schema, group_commit=group_commit)
    finally:
        with psycopg.connect(db, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def measure(
    executions: int, steps: int, workers: int, group_commit: bool, db: str | None = None
) -> dict[str, Any]:
    """Start `executions` executions together, run them all to their end, time it."""
    with _store(db, group_commit) as store, Engine(store, workers=workers) as engine:
        engine.register_function("bench", InProcessInvocable(_handler(steps), engine.service))
        arns = [engine.start_execution("bench", "{}", execution_name=f"e{i}") for i in range(executions)]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        futures = [engine.when_finished(arn) for arn in arns]
        engine.start()
        statuses = [f.result() for f in futures]
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        commits = store.commits
    ok = all(str(getattr(s, "value", s)) == "SUCCEEDED" for s in statuses)
    total = executions * steps
    return {
        "group_commit": group_commit,
        "ok": ok,
        "steps": total,
        "seconds": wall,
        "steps_per_s": total / wall,
        "wall_us_per_step": wall / total * 1e6,
        "cpu_us_per_step": cpu / total * 1e6,
        "cpu_share": cpu / wall,
        "commits": commits,
    }


def rows(executions: int, steps: int, workers: int, db: str | None = None) -> list[dict[str, Any]]:
    """Group commit off, then on: one run each way (reported on first)."""
    off = measure(executions, steps, workers, group_commit=False, db=db)
    on = measure(executions, steps, workers, group_commit=True, db=db)
    return [on, off]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--db", default=None, help="a postgresql:// URL (default: a SQLite temp file)")
    args = parser.parse_args(argv)
    result = rows(args.executions, args.steps, args.workers, args.db)
    if args.json:
        print(json.dumps(result))
        return 0
    for r in result:
        print(
            f"group commit {'on ' if r['group_commit'] else 'off'}: {r['steps_per_s']:8.0f} steps/s"
            f"  wall {r['wall_us_per_step']:6.0f} us/step  cpu {r['cpu_us_per_step']:6.0f} us/step"
            f"  ({r['cpu_share']:.0%} of wall)  {r['commits']} commits  ok={r['ok']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
