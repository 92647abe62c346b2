"""3-1: a child context runs one step and returns its result."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    return context.run_in_child_context(lambda child: child.step(lambda _: event))
