"""4-9, 4-10: create a callback, wait 5 s (the callback completes meanwhile), then its result."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    callback = context.create_callback(name=event)
    context.wait(Duration.from_seconds(5))
    return callback.result()
