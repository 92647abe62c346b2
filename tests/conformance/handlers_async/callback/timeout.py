"""4-3: a callback with a 5 s timeout that nobody completes: Callback.Timeout fails the execution."""

from __future__ import annotations

from perdure import AsyncDurableContext, CallbackConfig, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    callback = await context.create_callback(
        name=event, config=CallbackConfig(timeout=Duration.from_seconds(5))
    )
    return await callback.result()
