"""9-3: the map function receives the item and its index: item + index."""

from __future__ import annotations

from perdure import DurableContext, MapConfig, durable_execution


@durable_execution
def handler(event: list[int], context: DurableContext) -> list[int]:
    result = context.map(
        event,
        lambda ctx, item, index, items: item + index,
        name="indexed",
        config=MapConfig(max_concurrency=1),
    )
    return result.get_results()
