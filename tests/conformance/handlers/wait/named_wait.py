"""2-2: a 2 s wait with an explicit name."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> str:
    context.wait(Duration.from_seconds(2), name="custom_wait_name")
    return "waited"
