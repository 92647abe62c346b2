"""4-12: the callback's result first, then a 2 s wait, then return the result."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    callback = await context.create_callback(name=event)
    result = await callback.result()
    await context.wait(Duration.from_seconds(2))
    return result
