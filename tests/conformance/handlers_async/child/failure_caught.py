"""3-5: a failing child context is caught; a recovery step returns the input."""

from __future__ import annotations

from perdure import AsyncDurableContext, RetryPresets, StepConfig, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def body(child: AsyncDurableContext) -> str:
        async def broken(_: object) -> str:
            raise RuntimeError("child work failed")

        return await child.step(broken, config=StepConfig(retry_strategy=RetryPresets.none()))

    try:
        return await context.run_in_child_context(body)
    except Exception:
        return await context.step(lambda _: event)
