"""4-18: create callbacks A and B, then wait for A, then for B."""

from __future__ import annotations

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: list[str], context: AsyncDurableContext) -> list[object]:
    first = await context.create_callback(name=event[0])
    second = await context.create_callback(name=event[1])
    return [await first.result(), await second.result()]
