"""3-9: a finished child context returns its recorded result on the replay after a wait."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def body(child: AsyncDurableContext) -> str:
        return await child.step(lambda _: event)

    result = await context.run_in_child_context(body)
    await context.wait(Duration.from_seconds(2))
    return result
