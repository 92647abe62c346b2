"""9-9: map tolerated_failure_count=1 exceeded by the second failure; item 2 never starts."""

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
        ["fail", "fail", "ok"],
        _iteration,
        name="tolerated-exceeded",
        config=MapConfig(max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=1)),
    )
    return summary(result, "completionReason", "successCount", "failureCount", "totalCount")
