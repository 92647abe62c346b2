"""3-11: a child result over 256 KiB is not stored; the child is re-run on replay (ReplayChildren).

The child body logs the input with replay logging enabled, so the re-run is visible: the
log appears twice.
"""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> int:
    async def body(child: AsyncDurableContext) -> str:
        child.logger.with_is_replaying(lambda: False).info(f"building a large result for {event}")
        seed = await child.step(lambda _: event)
        return seed * (300 * 1024 // len(seed) + 1)

    large = await context.run_in_child_context(body, name="large_builder")
    await context.wait(Duration.from_seconds(2))
    return len(large)
