"""1-11: a step fails on attempt 1, is retried, and succeeds on attempt 2."""

from __future__ import annotations

from perdure import (
    AsyncDurableContext,
    Duration,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    create_retry_strategy,
    durable_execution,
)

RETRY = create_retry_strategy(RetryStrategyConfig(max_attempts=3, initial_delay=Duration.from_seconds(1)))


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def unreliable(step_context: StepContext) -> str:
        if step_context.attempt == 1:
            raise ConnectionError("first attempt fails")
        return "Operation succeeded"

    return await context.step(unreliable, config=StepConfig(retry_strategy=RETRY))
