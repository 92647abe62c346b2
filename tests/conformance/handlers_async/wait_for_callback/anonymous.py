"""7-3: wait_for_callback with only an inline submitter: no operation name."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> object:
    return await context.wait_for_callback(lambda callback_id, _: None)
