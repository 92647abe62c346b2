"""9-16: four ~70 KB results: the Map SUCCEED carries the envelope with ReplayChildren."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, MapConfig, durable_execution


async def _large(ctx: AsyncDurableContext, item: int, index: int, items: list[int]) -> str:
    return str(item) * (70 * 1024)


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, int]:
    result = await context.map([0, 1, 2, 3], _large, name="large", config=MapConfig(max_concurrency=1))
    return {"successCount": result.success_count, "totalCount": result.total_count}
