"""3-17: a child context that only logs (replay logging enabled) then a wait; the body runs once."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    def body(child: DurableContext) -> str:
        child.logger.with_is_replaying(lambda: False).info(f"child body ran for {event}")
        return event

    result = context.run_in_child_context(body, name="logging_child")
    context.wait(Duration.from_seconds(1))
    return result
