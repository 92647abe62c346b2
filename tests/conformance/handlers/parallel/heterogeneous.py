"""8-4: parallel whose branches return a string, a number and an object."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, ParallelConfig, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> list[Any]:
    result = context.parallel(
        [lambda ctx: "hello", lambda ctx: 42, lambda ctx: {"k": "v"}],
        name="hetero",
        config=ParallelConfig(max_concurrency=1),
    )
    return result.get_results()
