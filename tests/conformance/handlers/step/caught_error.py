"""1-20: a failed step is caught by user code, which continues with a fallback step."""

from __future__ import annotations

from perdure import DurableContext, RetryPresets, StepConfig, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> str:
    def broken(_: object) -> str:
        raise ValueError("primary path failed")

    try:
        return context.step(broken, config=StepConfig(retry_strategy=RetryPresets.none()))
    except Exception:
        return context.step(lambda _: "fallback_result")
