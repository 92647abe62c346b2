"""7-1, 7-4, 7-15: wait_for_callback named after the input; its result (or error) is not caught."""

from __future__ import annotations

from perdure import AsyncDurableContext, WaitForCallbackContext, durable_execution


async def submit(callback_id: str, context: WaitForCallbackContext) -> None:
    context.logger.info("callback id handed to the external system")


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    return await context.wait_for_callback(submit, name=event)
