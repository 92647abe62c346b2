"""9-3: the map function receives the item and its index: item + index."""

from __future__ import annotations

from perdure import AsyncDurableContext, MapConfig, durable_execution


@durable_execution
async def handler(event: list[int], context: AsyncDurableContext) -> list[int]:
    async def add_index(ctx: AsyncDurableContext, item: int, index: int, items: list[int]) -> int:
        return item + index

    result = await context.map(
        event,
        add_index,
        name="indexed",
        config=MapConfig(max_concurrency=1),
    )
    return result.get_results()
