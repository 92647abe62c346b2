"""`StepDetails.Attempt` as the official testing library reports it: while a step runs, the
attempts before it; once it ended, its attempts, the last one included."""

from __future__ import annotations

import contextlib
from typing import Any

from perdure import (
    DurableContext,
    Duration,
    JitterStrategy,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    create_retry_strategy,
    durable_execution,
)
from perdure.testing import DurableTestRunner


def _retry(max_attempts: int) -> StepConfig:
    return StepConfig(
        retry_strategy=create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=max_attempts,
                initial_delay=Duration.from_seconds(1),
                jitter_strategy=JitterStrategy.NONE,
            )
        )
    )


@durable_execution
def attempts(event: Any, context: DurableContext) -> int:
    def flaky(step: StepContext) -> int:
        if step.attempt <= 2:
            raise ValueError(f"attempt {step.attempt}")
        return step.attempt

    def never(step: StepContext) -> None:
        raise ValueError("never")

    context.step(lambda _: 1, name="once")
    ran = context.step(flaky, name="thrice", config=_retry(5))
    with contextlib.suppress(Exception):
        context.step(never, name="fails", config=_retry(2))
    return ran


def test_ended_steps_count_their_attempts() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(attempts, {})
        assert result.result == 3  # the attempt that succeeded
        with runner.engine.store.transaction() as tx:
            rec = tx.get_execution(result.execution_arn)
            assert rec is not None
            ops = {op.name: op for _, op in tx.list_operations(rec.key, -1, 100) if op.step_details}
    assert {name: op.step_details.attempt for name, op in ops.items() if op.step_details} == {
        "once": 1,
        "thrice": 3,
        "fails": 2,
    }
