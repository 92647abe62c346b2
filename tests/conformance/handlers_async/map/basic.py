"""9-1: map basic — one step per item ("Hello, <item>!"), max_concurrency 1."""

from __future__ import annotations

from perdure import AsyncDurableContext, MapConfig, durable_execution


async def _greet(ctx: AsyncDurableContext, item: str, index: int, items: list[str]) -> str:
    return await ctx.step(lambda _: f"Hello, {item}!")


@durable_execution
async def handler(event: list[str], context: AsyncDurableContext) -> list[str]:
    result = await context.map(event, _greet, name="map", config=MapConfig(max_concurrency=1))
    return result.get_results()
