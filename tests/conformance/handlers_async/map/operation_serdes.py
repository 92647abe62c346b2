"""9-19: an operation-level serdes writes the whole map result: the Map payload is "OPSERDE:X,Y"."""

from __future__ import annotations

from typing import Any

from async_shared import WholeResultSerDes

from perdure import AsyncDurableContext, MapConfig, durable_execution


async def _upper(ctx: AsyncDurableContext, item: str, index: int, items: list[str]) -> str:
    return item.upper()


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    result = await context.map(
        ["x", "y"],
        _upper,
        name="op-serde",
        config=MapConfig(max_concurrency=1, serdes=WholeResultSerDes()),
    )
    return result.get_results()
