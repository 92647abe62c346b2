"""6-9: the state is a {status, attempts} object; DONE after two checks, returned whole."""

from __future__ import annotations

from typing import Any

from perdure import (
    AsyncDurableContext,
    Duration,
    WaitForConditionCheckContext,
    WaitForConditionConfig,
    WaitForConditionDecision,
    durable_execution,
)


def poll_job(state: dict[str, Any], check_context: WaitForConditionCheckContext) -> dict[str, Any]:
    attempts = state["attempts"] + 1
    return {"status": "DONE" if attempts >= 2 else "PENDING", "attempts": attempts}


def while_pending(state: dict[str, Any], attempts_made: int) -> WaitForConditionDecision:
    if state["status"] == "PENDING":
        return WaitForConditionDecision.continue_waiting(Duration.from_seconds(1))
    return WaitForConditionDecision.stop_polling()


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, Any]:
    config = WaitForConditionConfig(
        wait_strategy=while_pending, initial_state={"status": "PENDING", "attempts": 0}
    )
    return await context.wait_for_condition(poll_job, config)
