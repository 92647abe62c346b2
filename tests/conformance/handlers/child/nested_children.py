"""3-6: an outer child context runs a step and an inner child context with its own step."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    def inner(child: DurableContext) -> str:
        return child.step(lambda _: event)

    def outer(child: DurableContext) -> str:
        child.step(lambda _: event)
        return child.run_in_child_context(inner, name="inner")

    return context.run_in_child_context(outer, name="outer")
