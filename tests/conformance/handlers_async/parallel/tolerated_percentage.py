"""8-13: parallel tolerated_failure_percentage=25 exceeded at 2 of 4 failures."""

from __future__ import annotations

from typing import Any

from async_batch_cases import branch, summary

from perdure import AsyncDurableContext, CompletionConfig, ParallelConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, Any]:
    result = await context.parallel(
        [branch(0, True), branch(1, True), branch(2, False), branch(3, False)],
        name="tolerated-pct",
        config=ParallelConfig(
            max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_percentage=25)
        ),
    )
    return summary(result, "completionReason", "successCount", "failureCount", "totalCount")
