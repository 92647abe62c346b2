"""2-3: two sequential named waits, each one its own suspension."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> dict[str, int]:
    completed = 0
    for name in ("wait-1", "wait-2"):
        await context.wait(Duration.from_seconds(2), name=name)
        completed += 1
    return {"completedWaits": completed}
