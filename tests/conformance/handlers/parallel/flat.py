"""8-12: parallel with FLAT nesting: no branch contexts, steps parented to the parallel."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, NestingType, ParallelConfig, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.parallel(
        [lambda ctx: ctx.step(lambda _: "fa"), lambda ctx: ctx.step(lambda _: "fb")],
        name="flat",
        config=ParallelConfig(max_concurrency=1, nesting_type=NestingType.FLAT),
    )
    return result.get_results()
