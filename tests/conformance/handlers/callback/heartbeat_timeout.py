"""4-4: a callback with a 5 s heartbeat timeout and no heartbeat: Callback.Heartbeat fails it."""

from __future__ import annotations

from perdure import CallbackConfig, DurableContext, Duration, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    config = CallbackConfig(heartbeat_timeout=Duration.from_seconds(5))
    return context.create_callback(name=event, config=config).result()
