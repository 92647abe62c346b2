"""7-1, 7-4, 7-15: wait_for_callback named after the input; its result (or error) is not caught."""

from __future__ import annotations

from perdure import DurableContext, WaitForCallbackContext, durable_execution


def submit(callback_id: str, context: WaitForCallbackContext) -> None:
    context.logger.info("callback id handed to the external system")


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    return context.wait_for_callback(submit, name=event)
