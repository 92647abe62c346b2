"""perdure.sdk.retries.with_retry: a block retried with durable backoff waits."""

from __future__ import annotations

from typing import Any

from perdure.sdk.config import Duration, JitterStrategy
from perdure.sdk.context import DurableContext
from perdure.sdk.execution import durable_execution
from perdure.sdk.retries import RetryStrategyConfig, create_retry_strategy
from perdure.sdk.with_retry import WithRetryConfig, with_retry

from .fakes import FakeService, run_to_end


def test_block_is_retried_after_a_durable_wait() -> None:
    strategy = create_retry_strategy(
        RetryStrategyConfig(max_attempts=3, initial_delay=Duration(2), jitter_strategy=JitterStrategy.NONE)
    )

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        def block(c: DurableContext, attempt: int) -> int:
            value = c.step(lambda _: attempt, name=f"try-{attempt}")
            if value < 2:
                raise RuntimeError("again")
            return value

        return with_retry(ctx, block, WithRetryConfig(retry_strategy=strategy), name="r")

    service = FakeService()
    output, invocations = run_to_end(handler, service)
    assert output["Result"] == "2" and invocations == 2
    assert [u.name for u in service.updates() if u.type.value == "WAIT"] == ["r-backoff-1"]
