"""1-3: the second of two sequential steps uses the first one's result."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> str:
    first = context.step(lambda _: "first")
    return context.step(lambda _: f"{first}_second")
