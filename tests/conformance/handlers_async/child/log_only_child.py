"""3-17: a child context that only logs (replay logging enabled) then a wait; the body runs once."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def body(child: AsyncDurableContext) -> str:
        child.logger.with_is_replaying(lambda: False).info(f"child body ran for {event}")
        return event

    result = await context.run_in_child_context(body, name="logging_child")
    await context.wait(Duration.from_seconds(1))
    return result
