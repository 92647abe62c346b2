"""7-2: wait_for_callback with the explicit static name "approval"."""

from __future__ import annotations

from perdure import DurableContext, WaitForCallbackContext, durable_execution


def submit(callback_id: str, context: WaitForCallbackContext) -> None:
    return None


@durable_execution
def handler(event: None, context: DurableContext) -> object:
    return context.wait_for_callback(submit, name="approval")
