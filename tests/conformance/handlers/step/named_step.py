"""1-2: a step with an explicit name."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    return context.step(lambda _: f"Hello, {event}!", name="custom_step_name")
