"""The web console's first-paint data, over HTTP: a list of 10,000 executions and an
execution of 3,000 operations.

    python benchmarks/console.py [--executions 10000] [--operations 3000] [--runs 30]

Builds a SQLite file (a temp dir) with `--executions` executions of four functions, one
of which ran `--operations` steps (each result about 200 bytes), serves it with
`perdure serve`'s host (`EngineHost`, console on), and times each GET the console's pages
make before their first paint, as a browser would fetch them (one keep-alive connection,
the whole JSON body read). Prints the median and p95 of `--runs` requests per URL beside
the 200 ms target. Measures; never asserts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from perdure import DurableContext, durable_execution  # noqa: E402
from perdure.engine import Engine  # noqa: E402
from perdure.engine.store import ExecutionQuery  # noqa: E402
from perdure.link.inprocess import InProcessInvocable  # noqa: E402
from perdure.server import EngineHost  # noqa: E402
from perdure.wire.types import StopDurableExecutionRequest  # noqa: E402

TARGET_MS = 200.0
FUNCTIONS = ("billing", "shipping", "reports", "emails")


def build(db: Path, executions: int, operations: int) -> tuple[Engine, str]:
    engine = Engine.open(db, skip_time=True, durability="normal", max_operations=operations + 10)
    steps = operations - 1  # and the execution's own operation

    @durable_execution
    def many_steps(event: Any, context: DurableContext) -> int:
        for n in range(steps):
            context.step(lambda _s, n=n: {"n": n, "text": "x" * 180}, name=f"step-{n}")
        return steps

    def idle(event: Any, context: Any) -> dict[str, str]:
        return {"Status": "PENDING"}

    engine.register_function("big", InProcessInvocable(many_steps, engine.service))
    for name in FUNCTIONS:
        engine.register_function(name, idle)  # type: ignore[arg-type]  # started, never invoked
    started = time.perf_counter()
    big = engine.start_execution("big", "{}", "the-big-one")
    engine.drive(big)
    for n in range(executions - 1):
        arn = engine.start_execution(FUNCTIONS[n % 4], "{}", f"order-{n:05d}")
        if n % 3 == 0:
            engine.service.stop_durable_execution(StopDurableExecutionRequest(durable_execution_arn=arn))
    print(
        f"built {executions:,} executions ({operations:,} operations in one) in {time.perf_counter() - started:.1f} s"
    )
    return engine, big


def timed(connection: http.client.HTTPConnection, path: str, runs: int) -> tuple[list[float], int]:
    times: list[float] = []
    size = 0
    for _ in range(runs):
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, body[:200]
        json.loads(body)
        size = len(body)
    return times, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--operations", type=int, default=3_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine, big = build(Path(folder) / "console.db", args.executions, args.operations)
        host = EngineHost(engine, port=0, run_engine=False)
        host.start()
        try:
            connection = http.client.HTTPConnection(*host.server.address)
            deep = engine.service.list_executions(
                ExecutionQuery(function_name=None, reverse=True, limit=5001)
            )[-1].key
            urls = {
                "list: newest 50": "/console/api/executions?limit=50",
                "list: status=STOPPED": "/console/api/executions?limit=50&status=STOPPED",
                "list: function=emails": "/console/api/executions?limit=50&function=emails",
                "list: name contains 0999": "/console/api/executions?limit=50&name=0999",
                "list: page 100 (keyset)": f"/console/api/executions?limit=50&after={deep}",
                f"execution: {args.operations:,} operations": f"/console/api/execution?arn={quote(big)}",
                "live poll (version)": f"/console/api/version?arn={quote(big)}",
                "one operation's payloads": f"/console/api/operation?arn={quote(big)}",
            }
            print(f"{'request':34} {'median':>9} {'p95':>9} {'bytes':>10}  target {TARGET_MS:.0f} ms")
            for label, path in urls.items():
                timed(connection, path, 2)  # warm
                times, size = timed(connection, path, args.runs)
                median = statistics.median(times)
                p95 = sorted(times)[int(0.95 * (len(times) - 1))]
                verdict = "PASS" if p95 <= TARGET_MS else "MISS"
                print(f"{label:34} {median:7.1f}ms {p95:7.1f}ms {size:10,}  {verdict}")
            connection.close()
        finally:
            host.stop()
            engine.close()


if __name__ == "__main__":
    main()
