"""2-5: a wait given in hours is recorded as 3600 seconds."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> str:
    context.wait(Duration.from_hours(1))
    return "an hour later"
