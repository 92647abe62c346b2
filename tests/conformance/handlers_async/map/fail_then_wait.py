"""9-18: a wait after a map that recorded a failure; on replay the map is not re-executed."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, CompletionConfig, Duration, MapConfig, durable_execution


async def _iteration(ctx: AsyncDurableContext, item: str, index: int, items: list[str]) -> str:
    if item == "fail":
        raise ValueError("item failed")
    return item


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, Any]:
    result = await context.map(
        ["ok", "fail"],
        _iteration,
        name="fail-then-wait",
        config=MapConfig(max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=1)),
    )
    await context.wait(Duration.from_seconds(1))
    return {
        "completionReason": result.completion_reason.value,
        "status": result.status.value,
        "successCount": result.success_count,
        "failureCount": result.failure_count,
        "totalCount": result.total_count,
    }
