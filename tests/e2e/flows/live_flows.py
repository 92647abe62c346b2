"""Flows for the live `perdure run` tests: a callback after a long wait, a real wait, a map."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from perdure import CallbackConfig, DurableContext, Duration, MapConfig, durable_execution


@durable_execution
def approval(event: Any, context: DurableContext) -> dict[str, Any]:
    """A long wait (skipped with --skip-time), then a callback with a one-hour timeout."""
    prepared = context.step(lambda _: "prepared", name="prepare")
    context.wait(timedelta(minutes=10), name="cool_off")
    callback = context.create_callback(name="approval", config=CallbackConfig(timeout=Duration.from_hours(1)))
    return {"prepared": prepared, "answer": callback.result()}


@durable_execution
def slow(event: Any, context: DurableContext) -> str:
    """A step, then a real wait of `event` seconds, then another step."""
    context.step(lambda _: 1, name="before")
    context.wait(Duration.from_seconds(event), name="pause")
    return context.step(lambda _: "after the pause", name="after")


@durable_execution
def mapped(event: Any, context: DurableContext) -> int:
    """A map over `event` items."""
    batch = context.map(list(range(event)), lambda ctx, item, index, items: item, name="items")
    return sum(batch.get_results())


@durable_execution
def slow_map(event: Any, context: DurableContext) -> int:
    """A map over `event` items, two at a time, each 25 ms: a progress line or two."""

    def item(ctx: DurableContext, item: int, index: int, items: Any) -> int:
        time.sleep(0.025)
        return item

    batch = context.map(list(range(event)), item, name="items", config=MapConfig(max_concurrency=2))
    return sum(batch.get_results())


@durable_execution
def quick(event: Any, context: DurableContext) -> str:
    return context.step(lambda _: "quick", name="only")


@durable_execution
def quick_too(event: Any, context: DurableContext) -> str:
    return context.step(lambda _: "quick too", name="only")


@durable_execution
def asks(event: Any, context: DurableContext) -> Any:
    """Waits for the callback "ok", with no timeout."""
    return context.create_callback(name="ok").result()


@durable_execution
def asks_through_a_child(event: Any, context: DurableContext) -> Any:
    """Invokes the function "asker" (`asks`), which waits for a callback."""
    return context.invoke("asker", None, name="ask")
