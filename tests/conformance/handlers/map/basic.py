"""9-1: map basic — one step per item ("Hello, <item>!"), max_concurrency 1."""

from __future__ import annotations

from perdure import DurableContext, MapConfig, durable_execution


def _greet(ctx: DurableContext, item: str, index: int, items: list[str]) -> str:
    return ctx.step(lambda _: f"Hello, {item}!")


@durable_execution
def handler(event: list[str], context: DurableContext) -> list[str]:
    return context.map(event, _greet, name="map", config=MapConfig(max_concurrency=1)).get_results()
