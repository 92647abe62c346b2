"""7-8: wait_for_callback inside a child context named "wrapper"."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    async def wrapper(child: AsyncDurableContext) -> object:
        return await child.wait_for_callback(lambda callback_id, _: None, name=event)

    return await context.run_in_child_context(wrapper, name="wrapper")
