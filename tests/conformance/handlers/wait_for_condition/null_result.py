"""6-10: the check returns None and the strategy stops at once: the final state is null."""

from __future__ import annotations

from typing import Any

from perdure import (
    DurableContext,
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
def handler(event: Any, context: DurableContext) -> str | None:
    config: WaitForConditionConfig[str | None] = WaitForConditionConfig(
        wait_strategy=stop, initial_state="start"
    )
    return context.wait_for_condition(nothing, config)
