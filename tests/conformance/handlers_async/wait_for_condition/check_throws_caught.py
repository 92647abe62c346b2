"""6-8: the check raises; the handler catches `WaitForConditionError` and returns "recovered"."""

from __future__ import annotations

from typing import Any

from perdure import (
    AsyncDurableContext,
    WaitForConditionCheckContext,
    WaitForConditionConfig,
    WaitForConditionDecision,
    WaitForConditionError,
    durable_execution,
)


async def broken_check(state: int, check_context: WaitForConditionCheckContext) -> int:
    raise RuntimeError("status endpoint unavailable")


def stop(state: int, attempts_made: int) -> WaitForConditionDecision:
    return WaitForConditionDecision.stop_polling()


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> str:
    try:
        await context.wait_for_condition(
            broken_check, WaitForConditionConfig(wait_strategy=stop, initial_state=0)
        )
    except WaitForConditionError:
        return "recovered"
    return "unreachable"
