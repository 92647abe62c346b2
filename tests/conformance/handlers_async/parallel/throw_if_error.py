"""8-7: parallel fail-fast; the handler rethrows the first branch failure, so the execution fails."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, CompletionConfig, ParallelConfig, durable_execution


async def _fails(ctx: AsyncDurableContext) -> str:
    raise ValueError("branch 0 failed")


async def _never(ctx: AsyncDurableContext) -> str:
    return "never"


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    result = await context.parallel(
        [_fails, _never],
        name="throwing",
        config=ParallelConfig(
            max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=0)
        ),
    )
    result.throw_if_error()
    return result.get_results()
