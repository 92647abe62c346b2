"""8-19: max_concurrency 0 is a validation error before anything is checkpointed."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, ParallelConfig, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.parallel(
        [lambda ctx: "a", lambda ctx: "b"], name="bad-concurrency", config=ParallelConfig(max_concurrency=0)
    )
    return result.get_results()
