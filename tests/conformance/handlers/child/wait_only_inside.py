"""3-13: a child context that only waits, followed by a step outside it."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    def body(child: DurableContext) -> str:
        child.wait(Duration.from_seconds(1))
        return event

    inner = context.run_in_child_context(body, name="waiting_child")
    return context.step(lambda _: inner)
