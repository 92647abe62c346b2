"""8-17: min_successful=3 never reached: all branches run, ALL_COMPLETED, status FAILED."""

from __future__ import annotations

from typing import Any

from async_batch_cases import branch, summary

from perdure import AsyncDurableContext, CompletionConfig, ParallelConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, Any]:
    result = await context.parallel(
        [branch(0, False), branch(1, True), branch(2, False)],
        name="min-not-reached",
        config=ParallelConfig(max_concurrency=1, completion_config=CompletionConfig(min_successful=3)),
    )
    return summary(result, "completionReason", "status", "successCount", "failureCount", "totalCount")
