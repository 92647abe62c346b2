"""4-14: a 3 s callback timeout is caught, then a 2 s wait, then the error message is returned."""

from __future__ import annotations

from perdure import AsyncDurableContext, CallbackConfig, CallbackError, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    callback = await context.create_callback(
        name=event, config=CallbackConfig(timeout=Duration.from_seconds(3))
    )
    try:
        message = f"approved: {await callback.result()}"
    except CallbackError as error:
        message = f"callback timed out: {error}"
    await context.wait(Duration.from_seconds(2))
    return message
