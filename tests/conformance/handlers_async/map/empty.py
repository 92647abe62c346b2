"""9-4: map over an empty list: parent START + SUCCEED, no iterations."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: list[Any], context: AsyncDurableContext) -> list[Any]:
    async def identity(ctx: AsyncDurableContext, item: Any, index: int, items: list[Any]) -> Any:
        return item

    result = await context.map(event or [], identity, name="empty")
    return result.get_results()
