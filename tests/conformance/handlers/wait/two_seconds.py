"""2-1: a single 2 s wait."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> str:
    context.wait(Duration.from_seconds(2))
    return "waited"
