"""3-6: an outer child context runs a step and an inner child context with its own step."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def inner(child: AsyncDurableContext) -> str:
        return await child.step(lambda _: event)

    async def outer(child: AsyncDurableContext) -> str:
        await child.step(lambda _: event)
        return await child.run_in_child_context(inner, name="inner")

    return await context.run_in_child_context(outer, name="outer")
