"""7-5: wait_for_callback with a 3 s timeout that nobody completes; the timeout is not caught."""

from __future__ import annotations

from perdure import DurableContext, Duration, WaitForCallbackConfig, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    config = WaitForCallbackConfig(timeout=Duration.from_seconds(3))
    return context.wait_for_callback(lambda callback_id, _: None, name=event, config=config)
