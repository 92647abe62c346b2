"""9-6: map fail-fast; the handler rethrows the first item failure, so the execution fails."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, CompletionConfig, MapConfig, durable_execution


async def _iteration(ctx: AsyncDurableContext, item: str, index: int, items: list[str]) -> str:
    if index == 0:
        raise ValueError("item 0 failed")
    return item


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    result = await context.map(
        ["i0", "i1"],
        _iteration,
        name="throwing",
        config=MapConfig(max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=0)),
    )
    result.throw_if_error()
    return result.get_results()
