"""6-4: the initial state 5 seeds the first check; each new state feeds the next, up to 8."""

from __future__ import annotations

from perdure import (
    AsyncDurableContext,
    Duration,
    WaitForConditionCheckContext,
    WaitForConditionConfig,
    WaitForConditionDecision,
    durable_execution,
)


async def increment(state: int, check_context: WaitForConditionCheckContext) -> int:
    return state + 1


@durable_execution
async def handler(event: int, context: AsyncDurableContext) -> int:
    def until_threshold(state: int, attempts_made: int) -> WaitForConditionDecision:
        if state >= event:
            return WaitForConditionDecision.stop_polling()
        return WaitForConditionDecision.continue_waiting(Duration.from_seconds(1))

    config = WaitForConditionConfig(wait_strategy=until_threshold, initial_state=5)
    return await context.wait_for_condition(increment, config)
