"""1-1: one step greets the input and succeeds on its first attempt."""

from __future__ import annotations

from perdure import DurableContext, StepContext, durable_execution, durable_step


@durable_step
def greet(step_context: StepContext, who: str) -> str:
    return f"Hello, {who}!"


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    return context.step(greet(event))
