"""8-1: parallel basic — two branches, each one step, max_concurrency 1, all succeed."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, ParallelConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    async def task1(ctx: AsyncDurableContext) -> str:
        return await ctx.step(lambda _: "task-1")

    async def task2(ctx: AsyncDurableContext) -> str:
        return await ctx.step(lambda _: "task-2")

    result = await context.parallel(
        [task1, task2],
        name="parallel",
        config=ParallelConfig(max_concurrency=1),
    )
    return result.get_results()
