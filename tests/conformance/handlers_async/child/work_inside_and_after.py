"""3-18: a step and a wait inside a child context, then a step and a wait after it."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def body(child: AsyncDurableContext) -> str:
        value = await child.step(lambda _: event)
        await child.wait(Duration.from_seconds(2))
        return value

    inner = await context.run_in_child_context(body, name="prepare")
    outer = await context.step(lambda _: inner)
    await context.wait(Duration.from_seconds(2))
    return outer
