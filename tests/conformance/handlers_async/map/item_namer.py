"""9-13: map with a custom item namer ("item-<item>"); results item * 10."""

from __future__ import annotations

from perdure import AsyncDurableContext, MapConfig, durable_execution


@durable_execution
async def handler(event: list[int], context: AsyncDurableContext) -> list[int]:
    config: MapConfig[int] = MapConfig(max_concurrency=1, item_namer=lambda item, index: f"item-{item}")

    async def times_ten(ctx: AsyncDurableContext, item: int, index: int, items: list[int]) -> int:
        return item * 10

    result = await context.map(event, times_ten, name="named-items", config=config)
    return result.get_results()
