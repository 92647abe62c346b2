"""9-20: an operation-level serdes; a wait after the map makes replay deserialize its payload."""

from __future__ import annotations

from typing import Any

from async_shared import WholeResultSerDes

from perdure import AsyncDurableContext, Duration, MapConfig, durable_execution


async def _upper(ctx: AsyncDurableContext, item: str, index: int, items: list[str]) -> str:
    return item.upper()


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    result = await context.map(
        ["x", "y"],
        _upper,
        name="op-serde-replay",
        config=MapConfig(max_concurrency=1, serdes=WholeResultSerDes()),
    )
    await context.wait(Duration.from_seconds(1))
    return result.get_results()
