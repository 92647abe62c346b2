"""3-3: a child context with two sequential steps; the second uses the first's result."""

from __future__ import annotations

from perdure import DurableContext, durable_execution, durable_with_child_context


@durable_with_child_context
def relay(child: DurableContext, text: str) -> str:
    first = child.step(lambda _: text)
    return child.step(lambda _: first)


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    return context.run_in_child_context(relay(event), name="relay")
