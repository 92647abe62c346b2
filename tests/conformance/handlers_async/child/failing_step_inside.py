"""3-4: a step inside a child context fails without retry; the child and the execution fail."""

from __future__ import annotations

from perdure import AsyncDurableContext, RetryPresets, StepConfig, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def body(child: AsyncDurableContext) -> str:
        async def broken(_: object) -> str:
            raise RuntimeError("inventory service rejected the request")

        return await child.step(broken, config=StepConfig(retry_strategy=RetryPresets.none()))

    return await context.run_in_child_context(body, name="reserve_inventory")
