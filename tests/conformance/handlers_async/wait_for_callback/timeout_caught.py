"""7-14: a 3 s timeout is caught and the handler returns "timed-out-handled"."""

from __future__ import annotations

from perdure import AsyncDurableContext, CallbackError, Duration, WaitForCallbackConfig, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    config = WaitForCallbackConfig(timeout=Duration.from_seconds(3))
    try:
        return await context.wait_for_callback(lambda callback_id, _: None, name=event, config=config)
    except CallbackError:
        return "timed-out-handled"
