"""1-9: after a wait, the replay returns the step's recorded value without running it."""

from __future__ import annotations

from perdure import DurableContext, Duration, StepContext, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> str:
    def compute(step_context: StepContext) -> str:
        step_context.logger.info("step executed")
        return "cached_value"

    value = context.step(compute)
    context.wait(Duration.from_seconds(1))
    return value
