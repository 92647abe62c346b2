"""1-2: a step with an explicit name."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    return await context.step(lambda _: f"Hello, {event}!", name="custom_step_name")
