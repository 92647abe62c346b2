"""9-7: map min_successful=2 completes after two items; the other two never start."""

from __future__ import annotations

from typing import Any

from perdure import BatchResult, CompletionConfig, DurableContext, MapConfig, durable_execution


def _projection(result: BatchResult[Any]) -> dict[str, Any]:
    return {
        "completionReason": result.completion_reason.value,
        "successCount": result.success_count,
        "totalCount": result.total_count,
    }


def _iteration(ctx: DurableContext, item: str, index: int, items: list[str]) -> str:
    if item == "fail":
        raise ValueError(f"item {index} failed")
    return f"{item}-{index}"


@durable_execution
def handler(event: Any, context: DurableContext) -> dict[str, Any]:
    result = context.map(
        ["i0", "i1", "i2", "i3"],
        _iteration,
        name="min-successful",
        config=MapConfig(max_concurrency=1, completion_config=CompletionConfig(min_successful=2)),
    )
    return _projection(result)
