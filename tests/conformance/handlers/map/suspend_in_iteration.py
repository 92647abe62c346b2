"""9-15: iteration 1 waits 1 s; on replay iteration 0 is skipped and iteration 1 resumes."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, Duration, MapConfig, durable_execution


def _iteration(ctx: DurableContext, item: str, index: int, items: list[str]) -> str:
    if index == 1:
        ctx.wait(Duration.from_seconds(1))
    return ctx.step(lambda _: item)


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    return context.map(
        ["r0", "r1"], _iteration, name="suspend", config=MapConfig(max_concurrency=1)
    ).get_results()
