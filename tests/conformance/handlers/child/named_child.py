"""3-2: a child context named after the input's `name`, returning the input's `value`."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: dict[str, str], context: DurableContext) -> str:
    value = event["value"]
    return context.run_in_child_context(lambda child: child.step(lambda _: value), name=event["name"])
