"""Small handlers for the HTTP-server end-to-end tests (each runs identically on every link)."""

from __future__ import annotations

from typing import Any

from perdure import (
    DurableContext,
    Duration,
    JitterStrategy,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    create_retry_strategy,
    durable_execution,
)

FLAKY_RETRY = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=4, initial_delay=Duration.from_seconds(3), jitter_strategy=JitterStrategy.NONE
    )
)


@durable_execution
def retrying(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """A step that fails `event["failures"]` times before it succeeds (or exhausts its retries)."""
    failures = int(event.get("failures", 2))

    def flaky(step: StepContext) -> int:
        if step.attempt <= failures:
            raise ConnectionError(f"attempt {step.attempt} failed")
        return step.attempt

    attempts = context.step(flaky, name="flaky", config=StepConfig(retry_strategy=FLAKY_RETRY))
    return {"attempts": attempts}


@durable_execution
def waiting(event: dict[str, Any], context: DurableContext) -> str:
    """Two steps around a wait of `event["seconds"]` seconds."""
    before = context.step(lambda _: "before", name="before")
    context.wait(Duration.from_seconds(int(event.get("seconds", 30))), name="pause")
    after = context.step(lambda _: "after", name="after")
    return f"{before}-{after}"


@durable_execution
def chatty(event: dict[str, Any], context: DurableContext) -> int:
    """`event["steps"]` steps: a long history for paging."""
    total = 0
    for index in range(int(event.get("steps", 5))):
        total += context.step(lambda _, i=index: i, name=f"s{index}")
    return total


@durable_execution
def approval(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """Waits for an external system to complete a callback (its id is in the history)."""
    callback = context.create_callback(name="approval")
    return {"answer": callback.result()}
