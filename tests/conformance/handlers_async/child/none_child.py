"""3-16: a child context that returns None without any durable operation."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> None:
    async def body(child: AsyncDurableContext) -> None:
        return None

    return await context.run_in_child_context(body, name="nothing_to_do")
