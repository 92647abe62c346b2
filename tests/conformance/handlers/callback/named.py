"""4-2: a callback with the explicit name "approval"."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> object:
    callback = context.create_callback(name="approval")
    return callback.result()
