"""Mixing the faces up fails the execution with an error that names the operation.

An async operation created and never awaited, and an `async def` step body given to the
sync face's `step`, are programming errors: the execution fails at once (no retry would
help) and the error says which operation and what to do.
"""

from __future__ import annotations

import asyncio

import pytest

from perdure import AsyncDurableContext, DurableContext, StepContext, durable_execution
from perdure.testing import DurableTestRunner


@durable_execution
async def forgets_to_await(event: None, context: AsyncDurableContext) -> str:
    context.step(lambda _: "lost", name="forgotten")  # a sync body, on a worker thread
    return "returned early"


async def _slow_body(step_context: StepContext) -> str:
    await asyncio.sleep(1)
    return "lost"


@durable_execution
async def forgets_to_await_a_running_body(event: None, context: AsyncDurableContext) -> str:
    context.step(_slow_body, name="forgotten")  # still running on the loop when the handler returns
    return "returned early"


async def _async_body(step_context: StepContext) -> str:
    return "never a value on the sync face"


@durable_execution
def sync_handler_with_async_step(event: None, context: DurableContext) -> str:
    return context.step(_async_body, name="coroutine-step")


@pytest.mark.parametrize(
    "handler", [forgets_to_await, forgets_to_await_a_running_body], ids=["sync", "async"]
)
def test_an_operation_never_awaited_fails_the_execution(handler: object) -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(handler)
    assert result.status == "FAILED"
    assert result.error is not None
    message = result.error.error_message or ""
    assert "forgotten" in message and "await" in message, message


def test_an_async_step_body_on_the_sync_face_fails_the_execution() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(sync_handler_with_async_step)
    assert result.status == "FAILED"
    assert result.error is not None
    message = result.error.error_message or ""
    assert "coroutine-step" in message or "_async_body" in message, message
    assert "async" in message, message
    assert result.invocations == 1  # a programming error is not retried
