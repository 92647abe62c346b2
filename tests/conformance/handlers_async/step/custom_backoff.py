"""1-14: a custom strategy (2 s initial delay, backoff x3, no jitter) retries twice."""

from __future__ import annotations

from perdure import (
    AsyncDurableContext,
    Duration,
    JitterStrategy,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    create_retry_strategy,
    durable_execution,
)

RETRY = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=5,
        initial_delay=Duration.from_seconds(2),
        backoff_rate=3,
        jitter_strategy=JitterStrategy.NONE,
    )
)


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def flaky(step_context: StepContext) -> str:
        if step_context.attempt <= 2:
            raise RuntimeError(f"attempt {step_context.attempt} failed")
        return "third time lucky"

    return await context.step(flaky, config=StepConfig(retry_strategy=RETRY))
