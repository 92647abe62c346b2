"""4-4: a callback with a 5 s heartbeat timeout and no heartbeat: Callback.Heartbeat fails it."""

from __future__ import annotations

from perdure import AsyncDurableContext, CallbackConfig, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    config = CallbackConfig(heartbeat_timeout=Duration.from_seconds(5))
    callback = await context.create_callback(name=event, config=config)
    return await callback.result()
