"""7-3: wait_for_callback with only an inline submitter: no operation name."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> object:
    return context.wait_for_callback(lambda callback_id, _: None)
