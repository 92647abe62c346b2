"""1-13: the default retry strategy retries twice (FULL jitter) before attempt 3 succeeds."""

from __future__ import annotations

from perdure import AsyncDurableContext, StepContext, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def flaky(step_context: StepContext) -> str:
        if step_context.attempt < 3:
            raise TimeoutError(f"attempt {step_context.attempt} timed out")
        return f"succeeded on attempt {step_context.attempt}"

    return await context.step(flaky)
