"""6-12: the final state (2) feeds a step that multiplies it by 10; the poll is not re-run."""

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

    reached = await context.wait_for_condition(
        increment, WaitForConditionConfig(wait_strategy=until_threshold, initial_state=0)
    )
    return await context.step(lambda _: reached * 10)
