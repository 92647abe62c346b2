"""4-9, 4-10: create a callback, wait 5 s (the callback completes meanwhile), then its result."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    callback = await context.create_callback(name=event)
    await context.wait(Duration.from_seconds(5))
    return await callback.result()
