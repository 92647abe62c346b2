"""9-12: map with FLAT nesting: no iteration contexts, steps parented to the map."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, MapConfig, NestingType, durable_execution


async def _iteration(ctx: AsyncDurableContext, item: str, index: int, items: list[str]) -> str:
    return await ctx.step(lambda _: item)


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    result = await context.map(
        ["fa", "fb"],
        _iteration,
        name="flat",
        config=MapConfig(max_concurrency=1, nesting_type=NestingType.FLAT),
    )
    return result.get_results()
