"""9-17: a wait after a successful map; on replay the map is not re-executed."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, Duration, MapConfig, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.map(
        ["a", "b"],
        lambda ctx, item, index, items: item.upper(),
        name="then-wait",
        config=MapConfig(max_concurrency=1),
    )
    context.wait(Duration.from_seconds(1))
    return result.get_results()
