"""8-19: max_concurrency 0 is a validation error before anything is checkpointed."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, ParallelConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    async def a(ctx: AsyncDurableContext) -> str:
        return "a"

    async def b(ctx: AsyncDurableContext) -> str:
        return "b"

    result = await context.parallel([a, b], name="bad-concurrency", config=ParallelConfig(max_concurrency=0))
    return result.get_results()
