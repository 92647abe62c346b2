"""3-1: a child context runs one step and returns its result."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def body(child: AsyncDurableContext) -> str:
        return await child.step(lambda _: event)

    return await context.run_in_child_context(body)
