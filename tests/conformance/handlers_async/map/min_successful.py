"""9-7: map min_successful=2 completes after two items; the other two never start."""

from __future__ import annotations

from typing import Any

from async_shared import summary

from perdure import AsyncDurableContext, CompletionConfig, MapConfig, durable_execution


async def _iteration(ctx: AsyncDurableContext, item: str, index: int, items: list[str]) -> str:
    if item == "fail":
        raise ValueError(f"item {index} failed")
    return f"{item}-{index}"


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, Any]:
    result = await context.map(
        ["i0", "i1", "i2", "i3"],
        _iteration,
        name="min-successful",
        config=MapConfig(max_concurrency=1, completion_config=CompletionConfig(min_successful=2)),
    )
    return summary(result, "completionReason", "successCount", "totalCount")
