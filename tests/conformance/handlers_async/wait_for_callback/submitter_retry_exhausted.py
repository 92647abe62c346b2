"""7-7: the submitter always fails; 2 attempts 1 s apart, then the operation fails."""

from __future__ import annotations

from perdure import (
    AsyncDurableContext,
    Duration,
    JitterStrategy,
    RetryStrategyConfig,
    WaitForCallbackConfig,
    WaitForCallbackContext,
    create_retry_strategy,
    durable_execution,
)

RETRY = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=2,
        initial_delay=Duration.from_seconds(1),
        backoff_rate=1,
        jitter_strategy=JitterStrategy.NONE,
    )
)


async def submit(callback_id: str, context: WaitForCallbackContext) -> None:
    raise RuntimeError("the approval system is down")


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> object:
    return await context.wait_for_callback(
        submit, name=event, config=WaitForCallbackConfig(retry_strategy=RETRY)
    )
