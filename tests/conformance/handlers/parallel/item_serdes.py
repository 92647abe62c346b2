"""8-15: parallel with a per-branch serdes that wraps each result as {"wrapped": v}."""

from __future__ import annotations

import json
from typing import Any

from perdure import DurableContext, ParallelConfig, SerDes, SerDesContext, durable_execution


class WrappingSerDes(SerDes[Any]):
    def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
        return json.dumps({"wrapped": value})

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
        return json.loads(data)["wrapped"]


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.parallel(
        [lambda ctx: "x", lambda ctx: "y"],
        name="serde",
        config=ParallelConfig(max_concurrency=1, item_serdes=WrappingSerDes()),
    )
    return result.get_results()
