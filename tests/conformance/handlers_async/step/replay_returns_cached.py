"""1-9: after a wait, the replay returns the step's recorded value without running it."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, StepContext, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def compute(step_context: StepContext) -> str:
        step_context.logger.info("step executed")
        return "cached_value"

    value = await context.step(compute)
    await context.wait(Duration.from_seconds(1))
    return value
