"""perdure's twins of the JavaScript durable functions in `tests/js/functions.mjs`: the same
operations under the same names, for `tests/e2e/test_js_functions.py` to compare."""

from __future__ import annotations

from typing import Any

from perdure import (
    CallbackConfig,
    DurableContext,
    Duration,
    JitterStrategy,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    create_retry_strategy,
    durable_execution,
)

EVERY_3_SECONDS = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=4,
        initial_delay=Duration.from_seconds(3),
        backoff_rate=1,
        jitter_strategy=JitterStrategy.NONE,
    )
)


@durable_execution
def journey(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """Two steps around a wait, and a step that fails twice before it succeeds."""
    first = context.step(lambda _: int(event.get("n", 1)) * 10, name="first")
    context.wait(Duration.from_seconds(30), name="pause")

    def flaky(step: StepContext) -> int:
        if step.attempt <= 2:
            raise RuntimeError(f"attempt {step.attempt} failed")
        return step.attempt

    attempts = context.step(flaky, name="flaky", config=StepConfig(retry_strategy=EVERY_3_SECONDS))
    second = context.step(lambda _: first + 1, name="second")
    return {"first": first, "second": second, "attempts": attempts}


@durable_execution
def approval(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """Waits for an external system to complete a callback (its id is in the history)."""
    callback = context.create_callback(name="approval", config=CallbackConfig(timeout=Duration.from_hours(1)))
    return {"answer": callback.result()}  # the raw result, as the JavaScript SDK gives it
