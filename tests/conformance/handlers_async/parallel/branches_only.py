"""8-2: parallel with branches only (no operation name); branches return directly."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, ParallelConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    async def alpha(ctx: AsyncDurableContext) -> str:
        return "alpha"

    async def beta(ctx: AsyncDurableContext) -> str:
        return "beta"

    result = await context.parallel([alpha, beta], config=ParallelConfig(max_concurrency=1))
    return result.get_results()
