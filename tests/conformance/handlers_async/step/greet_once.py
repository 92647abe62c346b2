"""1-1: one step greets the input and succeeds on its first attempt."""

from __future__ import annotations

from perdure import AsyncDurableContext, StepContext, durable_execution, durable_step


@durable_step
async def greet(step_context: StepContext, who: str) -> str:
    return f"Hello, {who}!"


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    return await context.step(greet(event))
