"""4-7: create a callback, run a step, then wait for the callback (which fails, uncaught)."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    callback = await context.create_callback(name=event)
    await context.step(lambda _: "side work")
    return await callback.result()
