"""A flow for the random-kill test of map: concurrent branches, a result over 256 KiB, a real wait.

Map over `event["items"]` items, four at a time, nested as `event["nesting"]` says. Each
item runs one step whose body appends `item-<i> <attempt>` to `$CRASH_LOOP_TRACE` when it
starts (and `... done` when it ends), takes `$CRASH_LOOP_SLOW` seconds and returns 20,000 characters, so the
batch result is over 256 KiB and is recorded with ReplayChildren. A real 1 s wait after
the map makes the last invocation rebuild the result from the checkpoints.
"""

from __future__ import annotations

import os
import time
from typing import Any

from perdure import (
    BatchResult,
    DurableContext,
    Duration,
    MapConfig,
    NestingType,
    StepContext,
    durable_execution,
)

SIZE = 20_000


def _item(context: DurableContext, item: int, index: int, items: Any) -> str:
    def run(step_context: StepContext) -> str:
        with open(os.environ["CRASH_LOOP_TRACE"], "a", encoding="utf-8") as trace:
            trace.write(f"item-{item} {step_context.attempt}\n")
        time.sleep(float(os.environ.get("CRASH_LOOP_SLOW", "0.1")))
        with open(os.environ["CRASH_LOOP_TRACE"], "a", encoding="utf-8") as trace:
            trace.write(f"item-{item} {step_context.attempt} done\n")
        return (f"{item:04d}" * SIZE)[:SIZE]

    return context.step(run, name=f"item-{item}")


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    config: MapConfig[int] = MapConfig(max_concurrency=4, nesting_type=NestingType(event["nesting"]))
    batch: BatchResult[str] = context.map(list(range(event["items"])), _item, name="items", config=config)
    batch.throw_if_error()
    context.wait(Duration.from_seconds(1), name="pause")
    results = batch.get_results()
    return {"lengths": sorted({len(r) for r in results}), "heads": [r[:4] for r in results]}
