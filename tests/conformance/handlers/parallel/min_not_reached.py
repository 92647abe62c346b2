"""8-17: min_successful=3 never reached: all branches run, ALL_COMPLETED, status FAILED."""

from __future__ import annotations

from typing import Any

from perdure import BatchResult, CompletionConfig, DurableContext, ParallelConfig, durable_execution


def _projection(result: BatchResult[Any]) -> dict[str, Any]:
    return {
        "completionReason": result.completion_reason.value,
        "status": result.status.value,
        "successCount": result.success_count,
        "failureCount": result.failure_count,
        "totalCount": result.total_count,
    }


def _branch(index: int, fails: bool) -> Any:
    def branch(ctx: DurableContext) -> str:
        if fails:
            raise ValueError(f"branch {index} failed")
        return "ok"

    return branch


@durable_execution
def handler(event: Any, context: DurableContext) -> dict[str, Any]:
    result = context.parallel(
        [_branch(0, False), _branch(1, True), _branch(2, False)],
        name="min-not-reached",
        config=ParallelConfig(max_concurrency=1, completion_config=CompletionConfig(min_successful=3)),
    )
    return _projection(result)
