"""8-7: parallel fail-fast; the handler rethrows the first branch failure, so the execution fails."""

from __future__ import annotations

from typing import Any

from perdure import CompletionConfig, DurableContext, ParallelConfig, durable_execution


def _fails(ctx: DurableContext) -> str:
    raise ValueError("branch 0 failed")


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.parallel(
        [_fails, lambda ctx: "never"],
        name="throwing",
        config=ParallelConfig(
            max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=0)
        ),
    )
    result.throw_if_error()
    return result.get_results()
