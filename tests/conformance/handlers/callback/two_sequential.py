"""4-17: create callback A and wait for it, then create callback B and wait for it."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: list[str], context: DurableContext) -> list[object]:
    first = context.create_callback(name=event[0]).result()
    second = context.create_callback(name=event[1]).result()
    return [first, second]
