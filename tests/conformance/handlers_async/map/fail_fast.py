"""9-5: map fail-fast (tolerated_failure_count=0): item 1 fails, item 2 never starts."""

from __future__ import annotations

from typing import Any

from async_shared import summary

from perdure import AsyncDurableContext, CompletionConfig, MapConfig, durable_execution


async def _iteration(ctx: AsyncDurableContext, item: str, index: int, items: list[str]) -> str:
    if item == "fail":
        raise ValueError(f"item {index} failed")
    return item


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, Any]:
    result = await context.map(
        ["ok", "fail", "never"],
        _iteration,
        name="failfast",
        config=MapConfig(max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=0)),
    )
    return summary(result, "completionReason", "status", "successCount", "failureCount", "totalCount")
