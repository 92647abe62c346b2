"""3-9: a finished child context returns its recorded result on the replay after a wait."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    result = context.run_in_child_context(lambda child: child.step(lambda _: event))
    context.wait(Duration.from_seconds(2))
    return result
