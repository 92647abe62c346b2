"""9-15: iteration 1 waits 1 s; on replay iteration 0 is skipped and iteration 1 resumes."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, Duration, MapConfig, durable_execution


async def _iteration(ctx: AsyncDurableContext, item: str, index: int, items: list[str]) -> str:
    if index == 1:
        await ctx.wait(Duration.from_seconds(1))
    return await ctx.step(lambda _: item)


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    result = await context.map(["r0", "r1"], _iteration, name="suspend", config=MapConfig(max_concurrency=1))
    return result.get_results()
