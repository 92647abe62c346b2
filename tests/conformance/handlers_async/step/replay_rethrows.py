"""1-10: a failed step is caught; after a wait the replay raises the recorded error again."""

from __future__ import annotations

from perdure import AsyncDurableContext, Duration, RetryPresets, StepConfig, StepContext, durable_execution


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def explode(step_context: StepContext) -> str:
        step_context.logger.info("step executed")
        raise RuntimeError("permanent failure")

    outcome = "no error"
    try:
        await context.step(explode, config=StepConfig(retry_strategy=RetryPresets.none()))
    except Exception as error:
        outcome = f"caught {type(error).__name__}"
    await context.wait(Duration.from_seconds(1))
    return outcome
