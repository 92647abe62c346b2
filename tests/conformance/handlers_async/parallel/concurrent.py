"""8-11: parallel with max_concurrency 2; results in branch index order whatever the finish order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from perdure import AsyncDurableContext, ParallelConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    def returning(value: str) -> Callable[[AsyncDurableContext], Awaitable[str]]:
        async def branch(ctx: AsyncDurableContext) -> str:
            return value

        return branch

    result = await context.parallel(
        [returning("r0"), returning("r1"), returning("r2")],
        name="concurrent",
        config=ParallelConfig(max_concurrency=2),
    )
    return result.get_results()
