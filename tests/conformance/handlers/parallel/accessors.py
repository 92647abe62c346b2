"""8-20: the BatchResult accessors succeeded(), failed(), get_errors(), has_failure."""

from __future__ import annotations

from typing import Any

from perdure import CompletionConfig, DurableContext, ParallelConfig, durable_execution


def _fails(ctx: DurableContext) -> str:
    raise ValueError("branch 1 failed")


@durable_execution
def handler(event: Any, context: DurableContext) -> dict[str, Any]:
    result = context.parallel(
        [lambda ctx: "a", _fails, lambda ctx: "c"],
        name="accessors",
        config=ParallelConfig(
            max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=1)
        ),
    )
    return {
        "hasFailure": result.has_failure,
        "successCount": len(result.succeeded()),
        "failureCount": len(result.failed()),
        "errorCount": len(result.get_errors()),
    }
