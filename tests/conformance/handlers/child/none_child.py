"""3-16: a child context that returns None without any durable operation."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> None:
    return context.run_in_child_context(lambda child: None, name="nothing_to_do")
