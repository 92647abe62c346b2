"""4-8: a callback with a 5 s timeout, a step, then the result: the timeout fails the execution."""

from __future__ import annotations

from perdure import CallbackConfig, DurableContext, Duration, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    callback = context.create_callback(name=event, config=CallbackConfig(timeout=Duration.from_seconds(5)))
    context.step(lambda _: "side work")
    return callback.result()
