"""2-1: a single 2 s wait."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    await context.wait(Duration.from_seconds(2))
    return "waited"
