"""1-5: a step that returns None."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> None:
    return await context.step(lambda _: None)
