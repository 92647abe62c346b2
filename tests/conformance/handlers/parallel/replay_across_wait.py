"""8-14: branch 1 suspends on a 2 s wait; on replay branch 0 is not re-executed."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, Duration, ParallelConfig, durable_execution


def _branch1(ctx: DurableContext) -> str:
    ctx.wait(Duration.from_seconds(2))
    return "b1"


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.parallel(
        [lambda ctx: ctx.step(lambda _: "b0"), _branch1],
        name="replay",
        config=ParallelConfig(max_concurrency=1),
    )
    return result.get_results()
