"""8-3: parallel with named-branch objects ("first", "second")."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, ParallelBranch, ParallelConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    async def one(ctx: AsyncDurableContext) -> str:
        return "one"

    async def two(ctx: AsyncDurableContext) -> str:
        return "two"

    result = await context.parallel(
        [ParallelBranch(one, name="first"), ParallelBranch(two, name="second")],
        name="named",
        config=ParallelConfig(max_concurrency=1),
    )
    return result.get_results()
