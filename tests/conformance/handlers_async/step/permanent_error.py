"""1-19: a step with no retries raises; the execution fails."""

from __future__ import annotations

from perdure import AsyncDurableContext, RetryPresets, StepConfig, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def broken(_: object) -> str:
        raise ValueError("invalid order state")

    return await context.step(broken, config=StepConfig(retry_strategy=RetryPresets.none()))
