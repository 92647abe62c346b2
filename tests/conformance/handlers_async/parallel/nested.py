"""8-21: a parallel inside a parallel branch; the outer result is [["i1", "i2"]]."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, ParallelConfig, durable_execution


async def _i1(ctx: AsyncDurableContext) -> str:
    return await ctx.step(lambda _: "i1")


async def _i2(ctx: AsyncDurableContext) -> str:
    return await ctx.step(lambda _: "i2")


async def _branch_a(ctx: AsyncDurableContext) -> list[str]:
    inner = await ctx.parallel(
        [_i1, _i2],
        name="inner",
        config=ParallelConfig(max_concurrency=1),
    )
    return inner.get_results()


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[list[str]]:
    result = await context.parallel([_branch_a], name="outer", config=ParallelConfig(max_concurrency=1))
    return result.get_results()
