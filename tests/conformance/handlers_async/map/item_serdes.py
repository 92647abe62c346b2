"""9-14: map with a custom per-item serdes; iteration payloads are "wrapped:X", "wrapped:Y"."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, MapConfig, SerDes, SerDesContext, durable_execution


class WrappingSerDes(SerDes[str]):
    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return f"wrapped:{value}"

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        return data.removeprefix("wrapped:")


async def _upper(ctx: AsyncDurableContext, item: str, index: int, items: list[str]) -> str:
    return item.upper()


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    result = await context.map(
        ["x", "y"],
        _upper,
        name="serdes",
        config=MapConfig(max_concurrency=1, item_serdes=WrappingSerDes()),
    )
    return result.get_results()
