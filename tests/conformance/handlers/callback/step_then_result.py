"""4-7: create a callback, run a step, then wait for the callback (which fails, uncaught)."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    callback = context.create_callback(name=event)
    context.step(lambda _: "side work")
    return callback.result()
