"""8-12: parallel with FLAT nesting: no branch contexts, steps parented to the parallel."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, NestingType, ParallelConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    async def fa(ctx: AsyncDurableContext) -> str:
        return await ctx.step(lambda _: "fa")

    async def fb(ctx: AsyncDurableContext) -> str:
        return await ctx.step(lambda _: "fb")

    result = await context.parallel(
        [fa, fb],
        name="flat",
        config=ParallelConfig(max_concurrency=1, nesting_type=NestingType.FLAT),
    )
    return result.get_results()
