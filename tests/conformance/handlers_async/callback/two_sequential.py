"""4-17: create callback A and wait for it, then create callback B and wait for it."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: list[str], context: AsyncDurableContext) -> list[object]:
    first = await (await context.create_callback(name=event[0])).result()
    second = await (await context.create_callback(name=event[1])).result()
    return [first, second]
