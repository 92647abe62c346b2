"""7-12: a 5 s heartbeat timeout and no heartbeat: Callback.Heartbeat, not caught."""

from __future__ import annotations

from perdure import DurableContext, Duration, WaitForCallbackConfig, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    config = WaitForCallbackConfig(heartbeat_timeout=Duration.from_seconds(5))
    return context.wait_for_callback(lambda callback_id, _: None, name=event, config=config)
