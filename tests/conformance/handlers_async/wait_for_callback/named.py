"""7-2: wait_for_callback with the explicit static name "approval"."""

from __future__ import annotations

from perdure import AsyncDurableContext, WaitForCallbackContext, durable_execution


async def submit(callback_id: str, context: WaitForCallbackContext) -> None:
    return None


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> object:
    return await context.wait_for_callback(submit, name="approval")
