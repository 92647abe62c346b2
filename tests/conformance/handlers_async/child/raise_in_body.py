"""3-15: a child body raises before any durable operation; the child and the execution fail."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def body(child: AsyncDurableContext) -> str:
        raise LookupError("no such customer")

    return await context.run_in_child_context(body, name="lookup_customer")
