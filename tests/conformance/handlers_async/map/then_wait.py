"""9-17: a wait after a successful map; on replay the map is not re-executed."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, Duration, MapConfig, durable_execution


async def _upper(ctx: AsyncDurableContext, item: str, index: int, items: list[str]) -> str:
    return item.upper()


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    result = await context.map(
        ["a", "b"],
        _upper,
        name="then-wait",
        config=MapConfig(max_concurrency=1),
    )
    await context.wait(Duration.from_seconds(1))
    return result.get_results()
