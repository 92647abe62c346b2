"""8-1: parallel basic — two branches, each one step, max_concurrency 1, all succeed."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, ParallelConfig, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.parallel(
        [
            lambda ctx: ctx.step(lambda _: "task-1"),
            lambda ctx: ctx.step(lambda _: "task-2"),
        ],
        name="parallel",
        config=ParallelConfig(max_concurrency=1),
    )
    return result.get_results()
