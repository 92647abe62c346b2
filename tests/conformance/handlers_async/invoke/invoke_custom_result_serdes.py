"""5-16: a result serdes that upper-cases the raw result text it receives (so the handler
returns the JSON text '"HELLO"' for an echoed "hello", quotes included)."""

from __future__ import annotations

import json
import os

from perdure import AsyncDurableContext, InvokeConfig, SerDes, SerDesContext, durable_execution


class ShoutingResult(SerDes[str]):
    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return json.dumps(value)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        return data.upper()


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    config: InvokeConfig[str, str] = InvokeConfig(serdes_result=ShoutingResult())
    return await context.invoke(os.environ["TARGET_FUNCTION_NAME"], event, config=config)
