"""3-2: a child context named after the input's `name`, returning the input's `value`."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: dict[str, str], context: AsyncDurableContext) -> str:
    value = event["value"]

    async def body(child: AsyncDurableContext) -> str:
        return await child.step(lambda _: value)

    return await context.run_in_child_context(body, name=event["name"])
