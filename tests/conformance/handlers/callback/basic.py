"""4-1, 4-6: a callback named after the input; the handler returns its result uncaught."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    callback = context.create_callback(name=event)
    return callback.result()
