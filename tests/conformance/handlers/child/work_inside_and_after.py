"""3-18: a step and a wait inside a child context, then a step and a wait after it."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    def body(child: DurableContext) -> str:
        value = child.step(lambda _: event)
        child.wait(Duration.from_seconds(2))
        return value

    inner = context.run_in_child_context(body, name="prepare")
    outer = context.step(lambda _: inner)
    context.wait(Duration.from_seconds(2))
    return outer
