"""8-20: the BatchResult accessors succeeded(), failed(), get_errors(), has_failure."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, CompletionConfig, ParallelConfig, durable_execution


async def _a(ctx: AsyncDurableContext) -> str:
    return "a"


async def _fails(ctx: AsyncDurableContext) -> str:
    raise ValueError("branch 1 failed")


async def _c(ctx: AsyncDurableContext) -> str:
    return "c"


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, Any]:
    result = await context.parallel(
        [_a, _fails, _c],
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
