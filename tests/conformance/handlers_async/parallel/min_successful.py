"""8-8: parallel min_successful=2 completes after two branches; the other two never start."""

from __future__ import annotations

from typing import Any

from async_batch_cases import branch, summary

from perdure import AsyncDurableContext, CompletionConfig, ParallelConfig, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, Any]:
    result = await context.parallel(
        [branch(0, False), branch(1, False), branch(2, False), branch(3, False)],
        name="min-successful",
        config=ParallelConfig(max_concurrency=1, completion_config=CompletionConfig(min_successful=2)),
    )
    return summary(result, "completionReason", "successCount", "totalCount")
