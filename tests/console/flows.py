"""Durable functions the console's tests run: a map with a failing item and a retried
step, a gated run whose page is watched live, and one that waits on a callback."""

from __future__ import annotations

import threading
import time
from typing import Any

from perdure import (
    CompletionConfig,
    DurableContext,
    Duration,
    JitterStrategy,
    MapConfig,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    create_retry_strategy,
    durable_execution,
)

MAP_SIZE = 50
FAILING_ITEM = 17
GATE = threading.Event()
"""`gated` blocks in its second step until a test sets this."""


class FlakyError(Exception):
    """Fails the first attempt of `prepare` (a retry then succeeds)."""


class BadItemError(Exception):
    """Item FAILING_ITEM of the map fails for good."""


RETRY_ONCE = StepConfig(
    retry_strategy=create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=3,
            initial_delay=Duration.from_seconds(1),
            jitter_strategy=JitterStrategy.NONE,
            retryable_error_types=[FlakyError],
        )
    )
)
ALL_ITEMS: MapConfig[int] = MapConfig(
    max_concurrency=10, completion_config=CompletionConfig(tolerated_failure_count=MAP_SIZE)
)
NO_RETRY = StepConfig(retry_strategy=create_retry_strategy(RetryStrategyConfig(max_attempts=1)))


@durable_execution
def fanout(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """prepare (fails once, retried) -> map of MAP_SIZE items (one fails) -> a wait -> done."""

    def prepare(step: StepContext) -> str:
        if step.attempt == 1:
            raise FlakyError("the warehouse did not answer (first attempt)")
        return "ready"

    context.step(prepare, name="prepare", config=RETRY_ONCE)

    def item(ctx: DurableContext, value: int, index: int, items: Any) -> dict[str, int]:
        def work(step: StepContext) -> dict[str, int]:
            if value == FAILING_ITEM:
                raise BadItemError(f"item {value} is out of stock")
            time.sleep(0.01 * (value % 7))  # work of varied length: a staircase on the timeline
            return {"item": value, "square": value * value}

        return ctx.step(work, name=f"work-{value}", config=NO_RETRY)

    results = context.map(list(range(MAP_SIZE)), item, name="items", config=ALL_ITEMS)
    context.wait(Duration.from_seconds(1), name="cool-off")
    return {"succeeded": results.success_count, "failed": results.failure_count}


@durable_execution
def gated(event: Any, context: DurableContext) -> str:
    """first -> gate (blocks until GATE is set) -> after."""
    context.step(lambda step: "one", name="first")
    context.step(lambda step: GATE.wait(60) and "opened", name="gate")
    context.step(lambda step: "three", name="after")
    return "done"


@durable_execution
def approval(event: Any, context: DurableContext) -> dict[str, Any]:
    """Waits for a callback someone completes; returns what it was given."""
    context.step(lambda step: {"request": event}, name="submit")
    callback = context.create_callback(name="approval")
    answer = callback.result()
    return {"answer": answer}


@durable_execution
def many(event: dict[str, int], context: DurableContext) -> int:
    """`event["steps"]` steps in a row."""
    for n in range(event["steps"]):
        context.step(lambda step, n=n: n, name=f"step-{n}")
    return int(event["steps"])


@durable_execution
def big_map(event: Any, context: DurableContext) -> int:
    """A map whose results (10 x 30 KB) are too large to checkpoint whole: a ReplayChildren summary."""
    results = context.map(
        list(range(10)),
        lambda ctx, value, index, items: ctx.step(lambda step: "x" * 30_000, name=f"big-{value}"),
        name="big",
    )
    return results.success_count


@durable_execution
def first_wins(event: Any, context: DurableContext) -> int:
    """A map of two items that completes on the first success: item 1 is left running."""

    def item(ctx: DurableContext, value: int, index: int, items: Any) -> int:
        ctx.step(lambda step: time.sleep(0.05 + 0.5 * value), name=f"race-{value}")
        return value

    first: MapConfig[int] = MapConfig(completion_config=CompletionConfig(min_successful=1))
    return context.map([0, 1], item, name="race", config=first).success_count


@durable_execution
def instant(event: Any, context: DurableContext) -> str:
    """No operation: an execution of (about) zero milliseconds."""
    return "done"
