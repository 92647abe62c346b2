"""8-14: branch 1 suspends on a 2 s wait; on replay branch 0 is not re-executed."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, Duration, ParallelConfig, durable_execution


async def _branch0(ctx: AsyncDurableContext) -> str:
    return await ctx.step(lambda _: "b0")


async def _branch1(ctx: AsyncDurableContext) -> str:
    await ctx.wait(Duration.from_seconds(2))
    return "b1"


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    result = await context.parallel(
        [_branch0, _branch1],
        name="replay",
        config=ParallelConfig(max_concurrency=1),
    )
    return result.get_results()
