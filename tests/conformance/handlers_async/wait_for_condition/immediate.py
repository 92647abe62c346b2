"""6-2: the condition already holds on the first check (state 5 >= input 5): no suspension."""

from __future__ import annotations

from perdure import (
    AsyncDurableContext,
    Duration,
    WaitForConditionCheckContext,
    WaitForConditionConfig,
    WaitForConditionDecision,
    durable_execution,
)


def unchanged(state: int, check_context: WaitForConditionCheckContext) -> int:
    return state


@durable_execution
async def handler(event: int, context: AsyncDurableContext) -> int:
    def until_reached(state: int, attempts_made: int) -> WaitForConditionDecision:
        if state >= event:
            return WaitForConditionDecision.stop_polling()
        return WaitForConditionDecision.continue_waiting(Duration.from_seconds(1))

    config = WaitForConditionConfig(wait_strategy=until_reached, initial_state=5)
    return await context.wait_for_condition(unchanged, config)
