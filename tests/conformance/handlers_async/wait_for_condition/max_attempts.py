"""6-6: the condition is never met; the strategy's third attempt exhausts it and fails the execution."""

from __future__ import annotations

from perdure import (
    AsyncDurableContext,
    Duration,
    JitterStrategy,
    WaitForConditionCheckContext,
    WaitForConditionConfig,
    WaitStrategyConfig,
    create_wait_strategy,
    durable_execution,
)


async def increment(state: int, check_context: WaitForConditionCheckContext) -> int:
    return state + 1


@durable_execution
async def handler(event: int, context: AsyncDurableContext) -> int:
    strategy = create_wait_strategy(
        WaitStrategyConfig[int](
            should_continue_polling=lambda state: True,
            max_attempts=3,
            initial_delay=Duration.from_seconds(1),
            backoff_rate=1,
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    config = WaitForConditionConfig(wait_strategy=strategy, initial_state=event)
    return await context.wait_for_condition(increment, config)
