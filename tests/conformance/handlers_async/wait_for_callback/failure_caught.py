"""7-6: the external failure is caught and the handler returns "recovered"."""

from __future__ import annotations

from perdure import AsyncDurableContext, CallbackError, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    try:
        return await context.wait_for_callback(lambda callback_id, _: None, name=event)
    except CallbackError:
        return "recovered"
