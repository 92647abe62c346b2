"""7-10: a 1 s wait, a top-level step, then wait_for_callback."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    await context.wait(Duration.from_seconds(1))
    await context.step(lambda _: {"prepared": True})
    return await context.wait_for_callback(lambda callback_id, _: None, name=event)
