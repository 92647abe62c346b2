"""7-9: two sequential wait_for_callback operations, "first" and "second"."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> object:
    context.wait_for_callback(lambda callback_id, _: None, name="first")
    return context.wait_for_callback(lambda callback_id, _: None, name="second")
