"""A flow for the random-kill test of map: concurrent branches, a result over 256 KiB, a real wait.

Map over `event["items"]` items, four at a time, nested as `event["nesting"]` says. Each
item runs one step, `crash_trace.traced` (it writes the trace the test reads and takes
`$CRASH_LOOP_SLOW` seconds), which returns 20,000 characters, so the batch result is over
256 KiB and is recorded with ReplayChildren. A real 1 s wait after
the map makes the last invocation rebuild the result from the checkpoints.
"""

from __future__ import annotations

from typing import Any

from crash_trace import traced

from perdure import (
    BatchResult,
    DurableContext,
    Duration,
    MapConfig,
    NestingType,
    durable_execution,
)

SIZE = 20_000


def _item(context: DurableContext, item: int, index: int, items: Any) -> str:
    return context.step(traced(f"item-{item}", (f"{item:04d}" * SIZE)[:SIZE]), name=f"item-{item}")


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    config: MapConfig[int] = MapConfig(max_concurrency=4, nesting_type=NestingType(event["nesting"]))
    batch: BatchResult[str] = context.map(list(range(event["items"])), _item, name="items", config=config)
    batch.throw_if_error()
    context.wait(Duration.from_seconds(1), name="pause")
    results = batch.get_results()
    return {"lengths": sorted({len(r) for r in results}), "heads": [r[:4] for r in results]}
