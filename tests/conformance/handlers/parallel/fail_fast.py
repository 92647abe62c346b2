"""8-6: parallel fail-fast (tolerated_failure_count=0): branch 1 fails, branch 2 never starts."""

from __future__ import annotations

from typing import Any

from batch_cases import branch, summary

from perdure import CompletionConfig, DurableContext, ParallelConfig, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> dict[str, Any]:
    result = context.parallel(
        [branch(0, False), branch(1, True), branch(2, False)],
        name="failfast",
        config=ParallelConfig(
            max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=0)
        ),
    )
    return summary(result, "completionReason", "status", "successCount", "failureCount", "totalCount")
