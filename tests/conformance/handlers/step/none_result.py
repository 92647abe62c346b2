"""1-5: a step that returns None."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> None:
    return context.step(lambda _: None)
