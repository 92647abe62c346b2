"""1-16: the strategy retries only connection errors, so a TransientError fails the step at once."""

from __future__ import annotations

from perdure import (
    AsyncDurableContext,
    Duration,
    RetryStrategyConfig,
    StepConfig,
    create_retry_strategy,
    durable_execution,
)


class TransientError(Exception):
    """A failure this strategy refuses to retry."""


ONLY_CONNECTION_ERRORS = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=3, initial_delay=Duration.from_seconds(1), retryable_error_types=[ConnectionError]
    )
)


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def call_service(_: object) -> str:
        raise TransientError("service briefly unavailable")

    return await context.step(call_service, config=StepConfig(retry_strategy=ONLY_CONNECTION_ERRORS))
