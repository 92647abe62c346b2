"""8-16: every branch fails within tolerated_failure_count=3: ALL_COMPLETED, status FAILED."""

from __future__ import annotations

from typing import Any

from batch_cases import branch, summary

from perdure import CompletionConfig, DurableContext, ParallelConfig, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> dict[str, Any]:
    result = context.parallel(
        [branch(0, True), branch(1, True), branch(2, True)],
        name="all-fail",
        config=ParallelConfig(
            max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=3)
        ),
    )
    return summary(result, "completionReason", "status", "successCount", "failureCount", "totalCount")
