"""1-7: the step context logger writes structured records for the step."""

from __future__ import annotations

from perdure import AsyncDurableContext, StepContext, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def greet(step_context: StepContext) -> str:
        step_context.logger.info(f"Greeting step started for: {event}")
        greeting = f"Hello, {event}!"
        step_context.logger.info(f"Greeting step completed with: {greeting}")
        return greeting

    return await context.step(greet)
