"""4-12: the callback's result first, then a 2 s wait, then return the result."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    result = context.create_callback(name=event).result()
    context.wait(Duration.from_seconds(2))
    return result
