"""7-6: the external failure is caught and the handler returns "recovered"."""

from __future__ import annotations

from perdure import CallbackError, DurableContext, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    try:
        return context.wait_for_callback(lambda callback_id, _: None, name=event)
    except CallbackError:
        return "recovered"
