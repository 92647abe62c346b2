"""1-4: a step returns a nested object with lists and mixed types."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    def build(_: object) -> dict[str, Any]:
        tags = list(event["tags"])
        return {"user": {"name": event["name"], "tags": tags}, "count": len(tags)}

    return context.step(build)
