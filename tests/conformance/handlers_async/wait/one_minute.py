"""2-4: a wait given in minutes is recorded as 60 seconds."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    await context.wait(Duration.from_minutes(1))
    return "a minute later"
