"""6-5: a fixed 2-second wait strategy (no backoff, no jitter) polls a counter up to 3."""

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
            should_continue_polling=lambda state: state < event,
            initial_delay=Duration.from_seconds(2),
            max_delay=Duration.from_seconds(2),
            backoff_rate=1,
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    config = WaitForConditionConfig(wait_strategy=strategy, initial_state=0)
    return await context.wait_for_condition(increment, config)
