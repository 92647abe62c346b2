"""7-10: a 1 s wait, a top-level step, then wait_for_callback."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    context.wait(Duration.from_seconds(1))
    context.step(lambda _: {"prepared": True})
    return context.wait_for_callback(lambda callback_id, _: None, name=event)
