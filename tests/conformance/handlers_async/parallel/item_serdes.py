"""8-15: parallel with a per-branch serdes that wraps each result as {"wrapped": v}."""

from __future__ import annotations

import json
from typing import Any

from perdure import AsyncDurableContext, ParallelConfig, SerDes, SerDesContext, durable_execution


class WrappingSerDes(SerDes[Any]):
    def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
        return json.dumps({"wrapped": value})

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
        return json.loads(data)["wrapped"]


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[str]:
    async def x(ctx: AsyncDurableContext) -> str:
        return "x"

    async def y(ctx: AsyncDurableContext) -> str:
        return "y"

    result = await context.parallel(
        [x, y],
        name="serde",
        config=ParallelConfig(max_concurrency=1, item_serdes=WrappingSerDes()),
    )
    return result.get_results()
