"""1-19: a step with no retries raises; the execution fails."""

from __future__ import annotations

from perdure import DurableContext, RetryPresets, StepConfig, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> str:
    def broken(_: object) -> str:
        raise ValueError("invalid order state")

    return context.step(broken, config=StepConfig(retry_strategy=RetryPresets.none()))
