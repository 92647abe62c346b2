"""9-12: map with FLAT nesting: no iteration contexts, steps parented to the map."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, MapConfig, NestingType, durable_execution


def _iteration(ctx: DurableContext, item: str, index: int, items: list[str]) -> str:
    return ctx.step(lambda _: item)


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.map(
        ["fa", "fb"],
        _iteration,
        name="flat",
        config=MapConfig(max_concurrency=1, nesting_type=NestingType.FLAT),
    )
    return result.get_results()
