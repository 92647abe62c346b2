"""7-5: wait_for_callback with a 3 s timeout that nobody completes; the timeout is not caught."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, WaitForCallbackConfig, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    config = WaitForCallbackConfig(timeout=Duration.from_seconds(3))
    return await context.wait_for_callback(lambda callback_id, _: None, name=event, config=config)
