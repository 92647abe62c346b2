"""7-11: the callback payload is deserialized as JSON; the handler returns its "status"."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, JsonSerDes, WaitForCallbackConfig, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    config = WaitForCallbackConfig(serdes=JsonSerDes[Any]())
    result = context.wait_for_callback(lambda callback_id, _: None, name=event, config=config)
    return result["status"]
