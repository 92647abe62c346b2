"""3-13: a child context that only waits, followed by a step outside it."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def body(child: AsyncDurableContext) -> str:
        await child.wait(Duration.from_seconds(1))
        return event

    inner = await context.run_in_child_context(body, name="waiting_child")
    return await context.step(lambda _: inner)
