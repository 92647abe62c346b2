"""3-10: a child context runs a step then a wait; it finishes on the next invocation."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def body(child: AsyncDurableContext) -> str:
        value = await child.step(lambda _: event)
        await child.wait(Duration.from_seconds(2))
        return value

    return await context.run_in_child_context(body, name="step_then_wait")
