"""2-2: a 2 s wait with an explicit name."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    await context.wait(Duration.from_seconds(2), name="custom_wait_name")
    return "waited"
