"""8-10: parallel tolerated_failure_count=1 exceeded by the second failure; branch 2 never starts."""

from __future__ import annotations

from typing import Any

from async_batch_cases import branch, summary

from perdure import AsyncDurableContext, CompletionConfig, ParallelConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, Any]:
    result = await context.parallel(
        [branch(0, True), branch(1, True), branch(2, False)],
        name="tolerated-exceeded",
        config=ParallelConfig(
            max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=1)
        ),
    )
    return summary(result, "completionReason", "successCount", "failureCount", "totalCount")
