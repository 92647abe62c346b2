"""1-4: a step returns a nested object with lists and mixed types."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: dict[str, Any], context: AsyncDurableContext) -> dict[str, Any]:
    async def build(_: object) -> dict[str, Any]:
        tags = list(event["tags"])
        return {"user": {"name": event["name"], "tags": tags}, "count": len(tags)}

    return await context.step(build)
