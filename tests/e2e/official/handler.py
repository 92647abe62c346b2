"""The handler both official-emulator tests run, written once for either SDK.

`E2E_SDK=official` in the environment imports the official SDK; anything else (the
default) imports perdure's. The handler maps 6 items whose results together pass 256 KiB
(so the map is checkpointed with ReplayChildren and replayed from its children), waits
for a callback the test completes from outside, and runs a step that fails its first
attempt and is retried. It imports only the SDK it runs on.
"""

from __future__ import annotations

import os
from typing import Any

if os.environ.get("E2E_SDK") == "official":
    from aws_durable_execution_sdk_python import DurableContext, StepContext, durable_execution
    from aws_durable_execution_sdk_python.config import CallbackConfig, Duration, MapConfig, StepConfig
    from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy
else:
    from perdure import (
        CallbackConfig,
        DurableContext,
        Duration,
        MapConfig,
        RetryStrategyConfig,
        StepConfig,
        StepContext,
        create_retry_strategy,
        durable_execution,
    )

RETRY = create_retry_strategy(RetryStrategyConfig(max_attempts=3, initial_delay=Duration.from_seconds(1)))


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    def item(ctx: DurableContext, value: int, index: int, items: list[int]) -> str:
        return ctx.step(lambda _: str(value) * 50_000, name=f"item-{index}")

    batch = context.map(event["items"], item, name="big-map", config=MapConfig(max_concurrency=1))
    lengths = [len(text) for text in batch.get_results()]
    callback = context.create_callback(
        name="approval", config=CallbackConfig(timeout=Duration.from_minutes(10))
    )
    approval = callback.result()

    def flaky(step_context: StepContext) -> int:
        if step_context.attempt == 1:
            raise ConnectionError("first attempt fails")
        return step_context.attempt

    attempts = context.step(flaky, name="flaky", config=StepConfig(retry_strategy=RETRY))
    return {"total": sum(lengths), "items": len(lengths), "approval": approval, "attempts": attempts}
