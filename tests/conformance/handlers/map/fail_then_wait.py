"""9-18: a wait after a map that recorded a failure; on replay the map is not re-executed."""

from __future__ import annotations

from typing import Any

from perdure import CompletionConfig, DurableContext, Duration, MapConfig, durable_execution


def _iteration(ctx: DurableContext, item: str, index: int, items: list[str]) -> str:
    if item == "fail":
        raise ValueError("item failed")
    return item


@durable_execution
def handler(event: Any, context: DurableContext) -> dict[str, Any]:
    result = context.map(
        ["ok", "fail"],
        _iteration,
        name="fail-then-wait",
        config=MapConfig(max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=1)),
    )
    context.wait(Duration.from_seconds(1))
    return {
        "completionReason": result.completion_reason.value,
        "status": result.status.value,
        "successCount": result.success_count,
        "failureCount": result.failure_count,
        "totalCount": result.total_count,
    }
