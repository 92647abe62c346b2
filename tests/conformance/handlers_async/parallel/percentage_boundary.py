"""8-22: 1 of 4 failures at tolerated_failure_percentage=25 does not exceed it: ALL_COMPLETED."""

from __future__ import annotations

from typing import Any

from async_batch_cases import branch, summary

from perdure import AsyncDurableContext, CompletionConfig, ParallelConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, Any]:
    result = await context.parallel(
        [branch(0, True), branch(1, False), branch(2, False), branch(3, False)],
        name="pct-boundary",
        config=ParallelConfig(
            max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_percentage=25)
        ),
    )
    return summary(result, "completionReason", "status", "successCount", "failureCount", "totalCount")
