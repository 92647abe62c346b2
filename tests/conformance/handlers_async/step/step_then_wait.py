"""1-8: a step then a 2 s wait; the replay skips the finished step."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    value = await context.step(lambda _: "computed")
    await context.wait(Duration.from_seconds(2))
    return value
