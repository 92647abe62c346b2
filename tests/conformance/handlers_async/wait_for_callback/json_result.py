"""7-11: the callback payload is deserialized as JSON; the handler returns its "status"."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, JsonSerDes, WaitForCallbackConfig, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    config = WaitForCallbackConfig(serdes=JsonSerDes[Any]())
    result = await context.wait_for_callback(lambda callback_id, _: None, name=event, config=config)
    return result["status"]
