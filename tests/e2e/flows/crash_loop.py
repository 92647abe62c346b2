"""A flow for the random-kill test: at-least-once and at-most-once steps, a real wait.

Each step body appends `<name> <attempt>` to `$CRASH_LOOP_TRACE` when it starts and
`<name> <attempt> done` when it ends, and takes `$CRASH_LOOP_SLOW` seconds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from perdure import (
    DurableContext,
    Duration,
    JitterStrategy,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
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


def _body(name: str, value: int) -> Callable[[StepContext], int]:
    def run(step_context: StepContext) -> int:
        with open(os.environ["CRASH_LOOP_TRACE"], "a", encoding="utf-8") as trace:
            trace.write(f"{name} {step_context.attempt}\n")
        time.sleep(float(os.environ.get("CRASH_LOOP_SLOW", "0.2")))
        with open(os.environ["CRASH_LOOP_TRACE"], "a", encoding="utf-8") as trace:
            trace.write(f"{name} {step_context.attempt} done\n")
        return value

    return run


@durable_execution
def handler(event: int, context: DurableContext) -> int:
    total = 0
    for index in range(event):
        semantics = AT_MOST_ONCE if index % 2 else StepConfig(retry_strategy=RETRY)
        name = f"{'once' if index % 2 else 'least'}-{index}"
        total += context.step(_body(name, index), name=name, config=semantics)
        if index == event // 2:
            context.wait(Duration.from_seconds(1), name="pause")
    return total
