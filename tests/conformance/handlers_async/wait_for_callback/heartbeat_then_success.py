"""7-13: a 10 s heartbeat timeout kept alive by a heartbeat, then completed with success."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, WaitForCallbackConfig, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    config = WaitForCallbackConfig(heartbeat_timeout=Duration.from_seconds(10))
    return await context.wait_for_callback(lambda callback_id, _: None, name=event, config=config)
