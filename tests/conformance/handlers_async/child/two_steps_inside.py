"""3-3: a child context with two sequential steps; the second uses the first's result."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution, durable_with_child_context


@durable_with_child_context
async def relay(child: AsyncDurableContext, text: str) -> str:
    first = await child.step(lambda _: text)
    return await child.step(lambda _: first)


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    return await context.run_in_child_context(relay(event), name="relay")
