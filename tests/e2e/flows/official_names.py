"""A handler written for the official SDK: it imports the official module names only."""

from __future__ import annotations

from aws_durable_execution_sdk_python.config import Duration, StepConfig
from aws_durable_execution_sdk_python.context import DurableContext, StepContext, durable_step
from aws_durable_execution_sdk_python.execution import durable_execution
from aws_durable_execution_sdk_python.retries import RetryPresets


@durable_step
def double(step_context: StepContext, value: int) -> int:
    return value * 2


@durable_execution
def handler(event: dict[str, int], context: DurableContext) -> int:
    doubled = context.step(double(event["value"]), config=StepConfig(retry_strategy=RetryPresets.none()))
    context.wait(Duration.from_seconds(1))
    return doubled + 1
