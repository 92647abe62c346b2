"""6-10: the check returns None and the strategy stops at once: the final state is null."""

from __future__ import annotations

from typing import Any

from perdure import (
    AsyncDurableContext,
    WaitForConditionCheckContext,
    WaitForConditionConfig,
    WaitForConditionDecision,
    durable_execution,
)


def nothing(state: str | None, check_context: WaitForConditionCheckContext) -> str | None:
    return None


def stop(state: str | None, attempts_made: int) -> WaitForConditionDecision:
    return WaitForConditionDecision.stop_polling()


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> str | None:
    config: WaitForConditionConfig[str | None] = WaitForConditionConfig(
        wait_strategy=stop, initial_state="start"
    )
    return await context.wait_for_condition(nothing, config)
