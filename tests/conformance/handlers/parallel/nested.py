"""8-21: a parallel inside a parallel branch; the outer result is [["i1", "i2"]]."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, ParallelConfig, durable_execution


def _branch_a(ctx: DurableContext) -> list[str]:
    inner = ctx.parallel(
        [lambda c: c.step(lambda _: "i1"), lambda c: c.step(lambda _: "i2")],
        name="inner",
        config=ParallelConfig(max_concurrency=1),
    )
    return inner.get_results()


@durable_execution
def handler(event: Any, context: DurableContext) -> list[list[str]]:
    return context.parallel([_branch_a], name="outer", config=ParallelConfig(max_concurrency=1)).get_results()
