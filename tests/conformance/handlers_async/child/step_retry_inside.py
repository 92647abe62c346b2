"""3-7: a step inside a child context fails once, is retried, and succeeds."""

from __future__ import annotations

from perdure import (
    AsyncDurableContext,
    Duration,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    create_retry_strategy,
    durable_execution,
)

RETRY = create_retry_strategy(RetryStrategyConfig(max_attempts=3, initial_delay=Duration.from_seconds(1)))


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def flaky(step_context: StepContext) -> str:
        if step_context.attempt == 1:
            raise ConnectionError("first try drops the connection")
        return event

    async def body(child: AsyncDurableContext) -> str:
        return await child.step(flaky, config=StepConfig(retry_strategy=RETRY))

    return await context.run_in_child_context(body, name="retrying_child")
