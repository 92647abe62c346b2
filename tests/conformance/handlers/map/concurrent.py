"""9-11: map with max_concurrency 2; results in item index order whatever the finish order."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, MapConfig, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.map(
        ["i0", "i1", "i2"],
        lambda ctx, item, index, items: f"r{index}",
        name="concurrent",
        config=MapConfig(max_concurrency=2),
    )
    return result.get_results()
