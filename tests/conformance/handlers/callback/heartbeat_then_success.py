"""4-5: a 10 s heartbeat timeout kept alive by a heartbeat, then completed with success."""

from __future__ import annotations

from perdure import CallbackConfig, DurableContext, Duration, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    config = CallbackConfig(heartbeat_timeout=Duration.from_seconds(10))
    return context.create_callback(name=event, config=config).result()
