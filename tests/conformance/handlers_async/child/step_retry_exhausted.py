"""3-8: a step inside a child context exhausts 2 attempts; the child and the execution fail."""

from __future__ import annotations

from perdure import (
    AsyncDurableContext,
    Duration,
    JitterStrategy,
    RetryStrategyConfig,
    StepConfig,
    create_retry_strategy,
    durable_execution,
)

RETRY = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=2, initial_delay=Duration.from_seconds(1), jitter_strategy=JitterStrategy.NONE
    )
)


@durable_execution
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def always_fail(_: object) -> str:
        raise RuntimeError("still broken")

    async def body(child: AsyncDurableContext) -> str:
        return await child.step(always_fail, config=StepConfig(retry_strategy=RETRY))

    return await context.run_in_child_context(body, name="exhausting_child")
