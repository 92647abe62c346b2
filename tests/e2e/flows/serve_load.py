"""A flow for the load and kill tests of `perdure serve`: alternating at-least-once and
at-most-once steps around a 1 s wait.

Each step body appends `<execution> <step> <attempt>` to `$SERVE_LOAD_TRACE` when it starts
and the same line with ` done` when it ends, and takes `$SERVE_LOAD_SLOW` seconds.
"""

from __future__ import annotations

import os
import time
from typing import Any

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
AT_LEAST_ONCE = StepConfig(retry_strategy=RETRY)
AT_MOST_ONCE = StepConfig(retry_strategy=RETRY, step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)


def _trace(line: str) -> None:
    with open(os.environ["SERVE_LOAD_TRACE"], "a", encoding="utf-8") as trace:
        trace.write(line + "\n")


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> int:
    execution, steps = event["id"], event["steps"]
    total = 0
    for index in range(steps):
        name = f"{'once' if index % 2 else 'least'}-{index}"

        def body(step_context: StepContext, name: str = name, value: int = index) -> int:
            _trace(f"{execution} {name} {step_context.attempt}")
            time.sleep(float(os.environ.get("SERVE_LOAD_SLOW", "0")))
            _trace(f"{execution} {name} {step_context.attempt} done")
            return value

        total += context.step(body, name=name, config=AT_MOST_ONCE if index % 2 else AT_LEAST_ONCE)
        if index == steps // 2:
            context.wait(Duration.from_seconds(1), name="pause")
    return total
