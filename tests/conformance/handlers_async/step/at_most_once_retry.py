"""1-18: an at-most-once step crashes on attempt 1; the interruption is retried; attempt 2 succeeds."""

from __future__ import annotations

import os

from perdure import (
    AsyncDurableContext,
    Duration,
    JitterStrategy,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    StepSemantics,
    create_retry_strategy,
    durable_execution,
)

RETRY = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=2, initial_delay=Duration.from_seconds(1), jitter_strategy=JitterStrategy.NONE
    )
)


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def flaky(step_context: StepContext) -> str:
        step_context.logger.info(f"attempt {step_context.attempt} handling {event}")
        if step_context.attempt == 1:
            os._exit(1)
        return "succeeded on second attempt"

    config = StepConfig(retry_strategy=RETRY, step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)
    return await context.step(flaky, config=config)
