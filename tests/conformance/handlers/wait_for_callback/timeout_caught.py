"""7-14: a 3 s timeout is caught and the handler returns "timed-out-handled"."""

from __future__ import annotations

from perdure import CallbackError, DurableContext, Duration, WaitForCallbackConfig, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    config = WaitForCallbackConfig(timeout=Duration.from_seconds(3))
    try:
        return context.wait_for_callback(lambda callback_id, _: None, name=event, config=config)
    except CallbackError:
        return "timed-out-handled"
