"""4-8: a callback with a 5 s timeout, a step, then the result: the timeout fails the execution."""

from __future__ import annotations

from perdure import AsyncDurableContext, CallbackConfig, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    callback = await context.create_callback(
        name=event, config=CallbackConfig(timeout=Duration.from_seconds(5))
    )
    await context.step(lambda _: "side work")
    return await callback.result()
