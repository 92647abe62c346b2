"""A flow for the random-kill test: at-least-once and at-most-once steps, a real wait.

Each step body is `crash_trace.traced`: it writes the trace the test reads and takes
`$CRASH_LOOP_SLOW` seconds.
"""

from __future__ import annotations

from crash_trace import traced

from perdure import (
    DurableContext,
    Duration,
    JitterStrategy,
    RetryStrategyConfig,
    StepConfig,
    StepSemantics,
    create_retry_strategy,
    durable_execution,
)

RETRY = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=50, initial_delay=Duration.from_seconds(1), jitter_strategy=JitterStrategy.NONE
    )
)
AT_MOST_ONCE = StepConfig(retry_strategy=RETRY, step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)


@durable_execution
def handler(event: int, context: DurableContext) -> int:
    total = 0
    for index in range(event):
        semantics = AT_MOST_ONCE if index % 2 else StepConfig(retry_strategy=RETRY)
        name = f"{'once' if index % 2 else 'least'}-{index}"
        total += context.step(traced(name, index), name=name, config=semantics)
        if index == event // 2:
            context.wait(Duration.from_seconds(1), name="pause")
    return total
