"""4-1, 4-6: a callback named after the input; the handler returns its result uncaught."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    callback = await context.create_callback(name=event)
    return await callback.result()
