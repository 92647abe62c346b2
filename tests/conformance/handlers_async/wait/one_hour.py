"""2-5: a wait given in hours is recorded as 3600 seconds."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    await context.wait(Duration.from_hours(1))
    return "an hour later"
