"""9-11: map with max_concurrency 2; results in item index order whatever the finish order."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, MapConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    async def iteration(ctx: AsyncDurableContext, item: str, index: int, items: list[str]) -> str:
        return f"r{index}"

    result = await context.map(
        ["i0", "i1", "i2"],
        iteration,
        name="concurrent",
        config=MapConfig(max_concurrency=2),
    )
    return result.get_results()
