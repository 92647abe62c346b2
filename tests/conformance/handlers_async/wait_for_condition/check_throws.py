"""6-7: the check raises on its first call; the failure is recorded and fails the execution."""

from __future__ import annotations

from typing import Any

from perdure import (
    AsyncDurableContext,
    WaitForConditionCheckContext,
    WaitForConditionConfig,
    WaitForConditionDecision,
    durable_execution,
)


async def broken_check(state: int, check_context: WaitForConditionCheckContext) -> int:
    raise RuntimeError("status endpoint unavailable")


def stop(state: int, attempts_made: int) -> WaitForConditionDecision:
    return WaitForConditionDecision.stop_polling()


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> int:
    return await context.wait_for_condition(
        broken_check, WaitForConditionConfig(wait_strategy=stop, initial_state=0)
    )
