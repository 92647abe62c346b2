"""1-3: the second of two sequential steps uses the first one's result."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    first = await context.step(lambda _: "first")
    return await context.step(lambda _: f"{first}_second")
