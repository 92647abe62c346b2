"""6-13: two wait_for_condition operations in a row; the first's result (2) seeds the second (to 4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


def until(threshold: int) -> Callable[[int, int], WaitForConditionDecision]:
    def strategy(state: int, attempts_made: int) -> WaitForConditionDecision:
        if state >= threshold:
            return WaitForConditionDecision.stop_polling()
        return WaitForConditionDecision.continue_waiting(Duration.from_seconds(1))

    return strategy


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> int:
    first = await context.wait_for_condition(
        increment, WaitForConditionConfig(wait_strategy=until(2), initial_state=0)
    )
    return await context.wait_for_condition(
        increment, WaitForConditionConfig(wait_strategy=until(4), initial_state=first)
    )
