"""4-5: a 10 s heartbeat timeout kept alive by a heartbeat, then completed with success."""

from __future__ import annotations

from perdure import AsyncDurableContext, CallbackConfig, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    config = CallbackConfig(heartbeat_timeout=Duration.from_seconds(10))
    callback = await context.create_callback(name=event, config=config)
    return await callback.result()
