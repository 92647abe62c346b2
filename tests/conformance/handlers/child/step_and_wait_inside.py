"""3-10: a child context runs a step then a wait; it finishes on the next invocation."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    def body(child: DurableContext) -> str:
        value = child.step(lambda _: event)
        child.wait(Duration.from_seconds(2))
        return value

    return context.run_in_child_context(body, name="step_then_wait")
