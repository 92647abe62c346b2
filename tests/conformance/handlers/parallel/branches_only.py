"""8-2: parallel with branches only (no operation name); branches return directly."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, ParallelConfig, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.parallel(
        [lambda ctx: "alpha", lambda ctx: "beta"], config=ParallelConfig(max_concurrency=1)
    )
    return result.get_results()
