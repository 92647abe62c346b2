"""1-20: a failed step is caught by user code, which continues with a fallback step."""

from __future__ import annotations

from perdure import AsyncDurableContext, RetryPresets, StepConfig, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def broken(_: object) -> str:
        raise ValueError("primary path failed")

    try:
        return await context.step(broken, config=StepConfig(retry_strategy=RetryPresets.none()))
    except Exception:
        return await context.step(lambda _: "fallback_result")
