"""4-2: a callback with the explicit name "approval"."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> object:
    callback = await context.create_callback(name="approval")
    return await callback.result()
