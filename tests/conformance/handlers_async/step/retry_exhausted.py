"""1-12: a step that always fails exhausts 4 attempts 1 s apart; the execution fails."""

from __future__ import annotations

from perdure import (
    AsyncDurableContext,
    Duration,
    JitterStrategy,
    RetryStrategyConfig,
    StepConfig,
    create_retry_strategy,
    durable_execution,
)

RETRY = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=4,
        initial_delay=Duration.from_seconds(1),
        backoff_rate=1,
        jitter_strategy=JitterStrategy.NONE,
    )
)


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def always_fail(_: object) -> str:
        raise RuntimeError("this step never works")

    return await context.step(always_fail, config=StepConfig(retry_strategy=RETRY))
