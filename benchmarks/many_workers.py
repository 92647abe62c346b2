"""Throughput of 1, 2 and 3 `perdure serve` workers on one PostgreSQL database: N executions
of M sequential steps each, started together through the API (Event invokes spread over the
workers), in the same run.

    python benchmarks/many_workers.py [--executions 100] [--steps 20] [--workers 1,2,3] [--json]

The server is `$PERDURE_TEST_POSTGRES` (default postgresql://postgres@127.0.0.1:5432/postgres,
as for the tests); the benchmark creates a database of its own there and drops it at the end,
each worker count getting a fresh schema. Without a reachable server it prints why and skips.

For each worker count: durable steps/s from the first start request to the last execution's
end (its EndTimestamp), the CPU time of the worker processes per step, and how busy the
machine's cores were over the run (from /proc/stat: every process, PostgreSQL's and this
client's included).
Each worker runs invocations on its engine's four threads, so more workers also means more
invocations at once. Measures; never asserts.

The module is also the benchmark's handler file (`--function bench=benchmarks/many_workers.py:handler`):
everything but `handler` is imported when the benchmark runs, not when a worker loads it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import perdure

HERE = Path(__file__).resolve().parent


@perdure.durable_execution
def handler(event: dict[str, Any], context: perdure.DurableContext) -> int:
    total = 0
    for i in range(event["steps"]):
        total += context.step(lambda _, i=i: i, name=f"s{i}")
    return total


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot (Linux; zeros elsewhere)."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux; 0 elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(db: str, workers: int, executions: int, steps: int, logs: Path) -> dict[str, Any]:
    """Start `executions` executions through `workers` workers at once; time them to their end."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.e2e.serve_workers import WorkerGroup

    function = f"bench={Path(__file__).resolve()}:handler"
    with WorkerGroup(workers, db, [function], logs) as group:
        payload = json.dumps({"steps": steps}).encode()
        pids = [w.process.pid for w in group.workers if w.process is not None]
        cpu0 = sum(_cpu_seconds(pid) for pid in pids)
        busy0, total0 = _machine_busy()
        began = time.time()

        def start(number: int) -> None:
            group.call(
                "invoke",
                worker=number % workers,
                FunctionName="bench",
                InvocationType="Event",
                Payload=payload,
                DurableExecutionName=f"e{number}",
            )

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(start, range(executions)))
        ended: list[dict[str, Any]] = []
        while len(ended) < executions:
            time.sleep(0.2)
            ended = _ended(group)
        cpu = sum(_cpu_seconds(pid) for pid in pids) - cpu0
        busy1, total1 = _machine_busy()
        codes = group.stop()
    last = max(e["EndTimestamp"].timestamp() for e in ended)
    seconds = last - began
    total = executions * steps
    return {
        "workers": workers,
        "ok": all(e["Status"] == "SUCCEEDED" for e in ended) and codes == [0] * workers,
        "executions": executions,
        "steps": total,
        "seconds": seconds,
        "steps_per_s": total / seconds,
        "worker_cpu_us_per_step": cpu / total * 1e6,
        "machine_busy": (busy1 - busy0) / (total1 - total0) if total1 > total0 else None,
    }


def _ended(group: Any) -> list[dict[str, Any]]:
    ended: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"FunctionName": "bench", "Statuses": ["SUCCEEDED", "FAILED"], "MaxItems": 1000}
    while True:
        page = group.call("list_durable_executions_by_function", **kwargs)
        ended += page["DurableExecutions"]
        if not page.get("NextMarker"):
            return ended
        kwargs["Marker"] = page["NextMarker"]


def rows(executions: int, steps: int, counts: list[int]) -> dict[str, Any]:
    """One row per worker count, each on a fresh schema of a database made for the run;
    `{"skipped": reason}` without a PostgreSQL server."""
    import tempfile
    from contextlib import contextmanager

    from tests import postgres

    reason = postgres.unreachable()
    if reason is not None:
        return {"skipped": f"{reason}; set {postgres.SERVER_ENV} to point at a server"}
    database = contextmanager(postgres.session_database)(f"bench_workers_{uuid.uuid4().hex[:8]}")
    out = []
    with database as url, tempfile.TemporaryDirectory(prefix="perdure-workers-") as tmp:
        for count in counts:
            db = f"{url}?schema=w{count}"
            out.append(measure(db, count, executions, steps, Path(tmp) / f"w{count}"))
    return {"rows": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=100)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--workers", default="1,2,3", help="worker counts, comma-separated")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    result = rows(args.executions, args.steps, [int(x) for x in args.workers.split(",")])
    if args.json:
        print(json.dumps(result))
        return 0
    print(report(result, args.executions, args.steps))
    return 0


def report(result: dict[str, Any], executions: int, steps: int) -> str:
    head = (
        f"many workers ({executions} executions x {steps} steps started together, one PostgreSQL database):"
    )
    if "skipped" in result:
        return f"{head}\n  skipped: {result['skipped']}"
    lines = [head]
    base = result["rows"][0]["steps_per_s"] if result["rows"] else 0
    for r in result["rows"]:
        busy = f"{r['machine_busy']:.0%}" if r["machine_busy"] is not None else "n/a"
        lines.append(
            f"  {r['workers']} worker{'s' if r['workers'] > 1 else ' '}  {r['steps_per_s']:6,.0f} steps/s"
            f" ({r['steps_per_s'] / base:.2f}x)  {r['seconds']:5.1f} s"
            f"  workers' CPU {r['worker_cpu_us_per_step']:5.0f} us/step  cores busy {busy}  ok={r['ok']}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
