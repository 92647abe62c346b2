"""1-6: a per-step serdes that upper-cases strings when it serialises them."""

from __future__ import annotations

import json
from typing import Any

from perdure import AsyncDurableContext, SerDes, SerDesContext, StepConfig, durable_execution


class ShoutingSerDes(SerDes[Any]):
    def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
        return json.dumps(value.upper() if isinstance(value, str) else value)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
        return json.loads(data)


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    return await context.step(lambda _: event, config=StepConfig(serdes=ShoutingSerDes()))
