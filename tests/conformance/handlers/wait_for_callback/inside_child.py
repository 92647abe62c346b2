"""7-8: wait_for_callback inside a child context named "wrapper"."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> object:
    def wrapper(child: DurableContext) -> object:
        return child.wait_for_callback(lambda callback_id, _: None, name=event)

    return context.run_in_child_context(wrapper, name="wrapper")
