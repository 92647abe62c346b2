"""4-13: a failed callback is caught, then a 2 s wait, then the error message is returned."""

from __future__ import annotations

from perdure import CallbackError, DurableContext, Duration, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    callback = context.create_callback(name=event)
    try:
        message = f"approved: {callback.result()}"
    except CallbackError as error:
        message = f"callback failed: {error}"
    context.wait(Duration.from_seconds(2))
    return message
