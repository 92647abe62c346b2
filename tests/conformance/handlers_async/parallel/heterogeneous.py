"""8-4: parallel whose branches return a string, a number and an object."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, ParallelConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[Any]:
    async def text(ctx: AsyncDurableContext) -> str:
        return "hello"

    async def number(ctx: AsyncDurableContext) -> int:
        return 42

    async def mapping(ctx: AsyncDurableContext) -> dict[str, str]:
        return {"k": "v"}

    result = await context.parallel(
        [text, number, mapping],
        name="hetero",
        config=ParallelConfig(max_concurrency=1),
    )
    return result.get_results()
