"""A handler without `@durable_execution`: `perdure run` wraps it."""

from __future__ import annotations

from perdure import DurableContext


def handler(event: int, context: DurableContext) -> int:
    return context.step(lambda _: event * 3, name="triple")
