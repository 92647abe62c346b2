"""8-3: parallel with named-branch objects ("first", "second")."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, ParallelBranch, ParallelConfig, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.parallel(
        [ParallelBranch(lambda ctx: "one", name="first"), ParallelBranch(lambda ctx: "two", name="second")],
        name="named",
        config=ParallelConfig(max_concurrency=1),
    )
    return result.get_results()
