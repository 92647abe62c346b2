"""2-4: a wait given in minutes is recorded as 60 seconds."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> str:
    context.wait(Duration.from_minutes(1))
    return "a minute later"
