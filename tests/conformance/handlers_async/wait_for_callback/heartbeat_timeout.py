"""7-12: a 5 s heartbeat timeout and no heartbeat: Callback.Heartbeat, not caught."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, WaitForCallbackConfig, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    config = WaitForCallbackConfig(heartbeat_timeout=Duration.from_seconds(5))
    return await context.wait_for_callback(lambda callback_id, _: None, name=event, config=config)
