"""9-9: map tolerated_failure_count=1 exceeded by the second failure; item 2 never starts."""

from __future__ import annotations

from typing import Any

from batch_summary import summary

from perdure import CompletionConfig, DurableContext, MapConfig, durable_execution


def _iteration(ctx: DurableContext, item: str, index: int, items: list[str]) -> str:
    if item == "fail":
        raise ValueError(f"item {index} failed")
    return f"{item}-{index}"


@durable_execution
def handler(event: Any, context: DurableContext) -> dict[str, Any]:
    result = context.map(
        ["fail", "fail", "ok"],
        _iteration,
        name="tolerated-exceeded",
        config=MapConfig(max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=1)),
    )
    return summary(result, "completionReason", "successCount", "failureCount", "totalCount")
