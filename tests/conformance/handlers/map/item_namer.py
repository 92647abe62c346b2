"""9-13: map with a custom item namer ("item-<item>"); results item * 10."""

from __future__ import annotations

from perdure import DurableContext, MapConfig, durable_execution


@durable_execution
def handler(event: list[int], context: DurableContext) -> list[int]:
    config: MapConfig[int] = MapConfig(max_concurrency=1, item_namer=lambda item, index: f"item-{item}")
    result = context.map(event, lambda ctx, item, index, items: item * 10, name="named-items", config=config)
    return result.get_results()
