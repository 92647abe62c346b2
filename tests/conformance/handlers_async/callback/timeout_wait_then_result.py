"""4-11: a 3 s callback timeout fires during a 6 s wait; the result then raises the timeout."""

from __future__ import annotations

from perdure import AsyncDurableContext, CallbackConfig, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    callback = await context.create_callback(
        name=event, config=CallbackConfig(timeout=Duration.from_seconds(3))
    )
    await context.wait(Duration.from_seconds(6))
    return await callback.result()
