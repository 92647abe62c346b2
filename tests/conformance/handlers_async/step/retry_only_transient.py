"""1-15: the strategy retries only a TransientError; attempt 2 succeeds."""

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


class TransientError(Exception):
    """A failure worth retrying."""


RETRY = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=3,
        initial_delay=Duration.from_seconds(1),
        jitter_strategy=JitterStrategy.NONE,
        retryable_error_types=[TransientError],
    )
)


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def call_service(step_context: StepContext) -> str:
        if step_context.attempt == 1:
            raise TransientError("service briefly unavailable")
        return "service answered"

    return await context.step(call_service, config=StepConfig(retry_strategy=RETRY))
