"""9-6: map fail-fast; the handler rethrows the first item failure, so the execution fails."""

from __future__ import annotations

from typing import Any

from perdure import CompletionConfig, DurableContext, MapConfig, durable_execution


def _iteration(ctx: DurableContext, item: str, index: int, items: list[str]) -> str:
    if index == 0:
        raise ValueError("item 0 failed")
    return item


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.map(
        ["i0", "i1"],
        _iteration,
        name="throwing",
        config=MapConfig(max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=0)),
    )
    result.throw_if_error()
    return result.get_results()
