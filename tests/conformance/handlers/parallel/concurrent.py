"""8-11: parallel with max_concurrency 2; results in branch index order whatever the finish order."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, ParallelConfig, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.parallel(
        [lambda ctx: "r0", lambda ctx: "r1", lambda ctx: "r2"],
        name="concurrent",
        config=ParallelConfig(max_concurrency=2),
    )
    return result.get_results()
