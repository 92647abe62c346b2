"""5-15: a payload serdes that upper-cases the strings of the payload it sends."""

from __future__ import annotations

import json
import os
from typing import Any

from perdure import AsyncDurableContext, InvokeConfig, SerDes, SerDesContext, durable_execution


class ShoutingPayload(SerDes[dict[str, Any]]):
    def serialize(self, value: dict[str, Any], serdes_context: SerDesContext) -> str:
        return json.dumps({k: v.upper() if isinstance(v, str) else v for k, v in value.items()})

    def deserialize(self, data: str, serdes_context: SerDesContext) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(data)
        return loaded


@durable_execution
async def handler(event: dict[str, Any], context: AsyncDurableContext) -> Any:
    config: InvokeConfig[dict[str, Any], Any] = InvokeConfig(serdes_payload=ShoutingPayload())
    result = await context.invoke(os.environ["TARGET_FUNCTION_NAME"], event, config=config)
    assert result == {"data": "HELLO"}, f"the target did not receive the transformed payload: {result!r}"
    return result
