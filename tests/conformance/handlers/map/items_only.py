"""9-2: map with items only (no name); each iteration doubles its item directly."""

from __future__ import annotations

from perdure import DurableContext, MapConfig, durable_execution


@durable_execution
def handler(event: list[int], context: DurableContext) -> list[int]:
    return context.map(
        event, lambda ctx, item, index, items: item * 2, config=MapConfig(max_concurrency=1)
    ).get_results()
