"""The async face at scale: thousands of concurrent operations, few threads, little memory.

    python benchmarks/async_scale.py gather 10000
    python benchmarks/async_scale.py gather-sync 5000
    python benchmarks/async_scale.py map 10000 --concurrency 1000

`gather N` runs one execution that gathers N async steps at once; `gather-sync N` the same
with sync step bodies that block for half a millisecond (they run on worker threads);
`map N` runs an async map over N items (one async step each) at `--concurrency`. Each runs in this process on a
time-skipping in-memory engine whose operation limit is raised above AWS's 3,000, and
prints one JSON line: the result check, wall and CPU seconds, the peak number of live
threads (counted at every thread start, so no peak is missed) and the peak RSS
(`ru_maxrss` of this process alone). tests/e2e/test_async_scale.py runs both at 10,000
and asserts the bounds; this script measures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import threading
import time
from typing import Any

from perdure import AsyncDurableContext, MapConfig, StepContext, durable_execution
from perdure.testing import DurableTestRunner

peak_threads = threading.active_count()
_original_start = threading.Thread.start


def _counting_start(self: threading.Thread) -> None:
    global peak_threads
    _original_start(self)
    peak_threads = max(peak_threads, threading.active_count())


threading.Thread.start = _counting_start  # type: ignore[method-assign]


def _step(value: int) -> Any:
    async def square(step_context: StepContext) -> int:
        await asyncio.sleep(0)  # give way to the other operations, as real I/O would
        return value * value

    return square


def _blocking_step(value: int) -> Any:
    def square(step_context: StepContext) -> int:
        time.sleep(0.0005)  # blocking work: the async face runs a sync body on a worker thread
        return value * value

    return square


def gather_handler(n: int, sync_bodies: bool = False) -> Any:
    step = _blocking_step if sync_bodies else _step

    @durable_execution
    async def handler(event: None, context: AsyncDurableContext) -> int:
        squares = await asyncio.gather(*(context.step(step(i)) for i in range(n)))
        return sum(squares)

    return handler


def map_handler(n: int, concurrency: int) -> Any:
    async def iteration(ctx: AsyncDurableContext, item: int, index: int, items: list[int]) -> int:
        return await ctx.step(_step(item))

    @durable_execution
    async def handler(event: None, context: AsyncDurableContext) -> int:
        batch = await context.map(list(range(n)), iteration, config=MapConfig(max_concurrency=concurrency))
        batch.throw_if_error()
        return sum(batch.get_results())

    return handler


def _peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024  # Linux: KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=("gather", "gather-sync", "map"))
    parser.add_argument("n", type=int)
    parser.add_argument("--concurrency", type=int, default=1000, help="map's max_concurrency")
    args = parser.parse_args(argv)
    if args.scenario == "map":
        handler = map_handler(args.n, args.concurrency)
    else:
        handler = gather_handler(args.n, sync_bodies=args.scenario == "gather-sync")
    threads_before = threading.active_count()
    wall, cpu = time.perf_counter(), time.process_time()
    with DurableTestRunner.start_time_skipping(max_operations=3 * args.n + 10) as runner:
        result = runner.run(handler)
    expected = sum(i * i for i in range(args.n))
    report = {
        "scenario": args.scenario,
        "n": args.n,
        "concurrency": args.concurrency if args.scenario == "map" else args.n,
        "ok": result.status == "SUCCEEDED" and result.result == expected,
        "status": result.status,
        "error": result.error.error_message if result.error else None,
        "operations": len(result.operations),
        "seconds": round(time.perf_counter() - wall, 3),
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "threads_before": threads_before,
        "peak_threads": peak_threads,
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
