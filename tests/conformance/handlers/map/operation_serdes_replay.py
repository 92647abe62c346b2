"""9-20: an operation-level serdes; a wait after the map makes replay deserialize its payload."""

from __future__ import annotations

from typing import Any

from operation_serdes import WholeResultSerDes  # the 9-19 serdes (sibling module)

from perdure import DurableContext, Duration, MapConfig, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.map(
        ["x", "y"],
        lambda ctx, item, index, items: item.upper(),
        name="op-serde-replay",
        config=MapConfig(max_concurrency=1, serdes=WholeResultSerDes()),
    )
    context.wait(Duration.from_seconds(1))
    return result.get_results()
