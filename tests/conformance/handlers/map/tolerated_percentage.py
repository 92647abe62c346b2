"""9-10: map tolerated_failure_percentage=25 exceeded at 2 of 4 failures."""

from __future__ import annotations

from typing import Any

from perdure import BatchResult, CompletionConfig, DurableContext, MapConfig, durable_execution


def _projection(result: BatchResult[Any]) -> dict[str, Any]:
    return {
        "completionReason": result.completion_reason.value,
        "successCount": result.success_count,
        "failureCount": result.failure_count,
        "totalCount": result.total_count,
    }


def _iteration(ctx: DurableContext, item: str, index: int, items: list[str]) -> str:
    if item == "fail":
        raise ValueError(f"item {index} failed")
    return f"{item}-{index}"


@durable_execution
def handler(event: Any, context: DurableContext) -> dict[str, Any]:
    result = context.map(
        ["fail", "fail", "ok", "ok"],
        _iteration,
        name="tolerated-pct",
        config=MapConfig(
            max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_percentage=25)
        ),
    )
    return _projection(result)
