"""7-9: two sequential wait_for_callback operations, "first" and "second"."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> object:
    await context.wait_for_callback(lambda callback_id, _: None, name="first")
    return await context.wait_for_callback(lambda callback_id, _: None, name="second")
