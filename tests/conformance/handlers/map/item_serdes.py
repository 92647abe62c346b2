"""9-14: map with a custom per-item serdes; iteration payloads are "wrapped:X", "wrapped:Y"."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, MapConfig, SerDes, SerDesContext, durable_execution


class WrappingSerDes(SerDes[str]):
    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return f"wrapped:{value}"

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        return data.removeprefix("wrapped:")


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.map(
        ["x", "y"],
        lambda ctx, item, index, items: item.upper(),
        name="serdes",
        config=MapConfig(max_concurrency=1, item_serdes=WrappingSerDes()),
    )
    return result.get_results()
