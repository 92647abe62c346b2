"""1-17: an at-most-once step with no retry crashes the process; the replay fails it.

Runs under process isolation: `os._exit` ends the worker, the engine records
Runtime.ExitError, and the next invocation finds the step STARTED and interrupted.
"""

from __future__ import annotations

import os

from perdure import (
    AsyncDurableContext,
    RetryPresets,
    StepConfig,
    StepContext,
    StepSemantics,
    durable_execution,
)


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def flaky(step_context: StepContext) -> str:
        step_context.logger.info(f"about to crash while handling {event}")
        os._exit(1)

    return await context.step(
        flaky,
        name="at_most_once_flaky_step",
        config=StepConfig(
            retry_strategy=RetryPresets.none(), step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY
        ),
    )
