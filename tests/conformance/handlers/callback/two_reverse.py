"""4-19: create callbacks A and B, then wait for B first, then for A."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: list[str], context: DurableContext) -> list[object]:
    first = context.create_callback(name=event[0])
    second = context.create_callback(name=event[1])
    b = second.result()
    a = first.result()
    return [a, b]
