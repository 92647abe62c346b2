"""1-8: a step then a 2 s wait; the replay skips the finished step."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> str:
    value = context.step(lambda _: "computed")
    context.wait(Duration.from_seconds(2))
    return value
