"""9-2: map with items only (no name); each iteration doubles its item directly."""

from __future__ import annotations

from perdure import AsyncDurableContext, MapConfig, durable_execution


@durable_execution
async def handler(event: list[int], context: AsyncDurableContext) -> list[int]:
    async def double(ctx: AsyncDurableContext, item: int, index: int, items: list[int]) -> int:
        return item * 2

    result = await context.map(event, double, config=MapConfig(max_concurrency=1))
    return result.get_results()
