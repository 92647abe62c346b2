"""What a test of a durable function meets: decoded operation results, stall messages in the
runner's words, the undecorated-handler warning, the pytest fixture, the exports."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from perdure import DurableContext, durable_execution
from perdure.testing import (
    DurableTestRunner,
    EngineStalledError,
    ErrorObject,
    UndecoratedHandlerWarning,
)

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@durable_execution
def stamped(event: Any, context: DurableContext) -> str:
    when = context.step(lambda _: WHEN, name="when")
    context.step(lambda _: {"n": 1, "tags": ("a", "b")}, name="dict")
    return when.isoformat()


@durable_execution
def waits_for_approval(event: Any, context: DurableContext) -> Any:
    context.step(lambda step: 1 // (step.attempt - 1), name="flaky")  # fails once, then retried
    context.wait(timedelta(hours=1), name="cool-off")
    return context.wait_for_callback(lambda callback_id, _: None, name="approval")


def test_operation_results_are_decoded_and_the_stored_text_kept() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(stamped)
    assert result.operation("when").result == WHEN
    assert result.operation("dict").result == {"n": 1, "tags": ("a", "b")}
    assert result.operation("when").raw_result == '{"t":"dt","v":"2026-01-02T03:04:05+00:00"}'


def test_a_stall_names_the_runner_calls_that_deliver_the_callback() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        with pytest.raises(EngineStalledError) as stalled:
            runner.run(waits_for_approval)
        message = str(stalled.value)
        assert "callback 'approval'" in message
        assert "runner.start(" in message and "runner.send_callback_success(" in message
        assert "runner.wait_for_callback(arn, 'approval')" in message
        assert "send_durable_execution_callback" not in message and "run_until_idle" not in message
        # ... and the calls it names do deliver it, through the retry delay and the wait before it.
        arn = runner.start(waits_for_approval)
        runner.send_callback_success(runner.wait_for_callback(arn, "approval"), '"yes"')
        assert runner.wait_for_result(arn).result == '"yes"'


def test_wait_for_callback_says_when_the_execution_ends_without_the_callback() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        arn = runner.start(stamped)
        with pytest.raises(LookupError, match=r"ended SUCCEEDED without opening callback 'approval'"):
            runner.wait_for_callback(arn, "approval")


def test_callback_id_before_the_callback_opens_names_what_the_execution_waits_on() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        state = runner.run_until_suspended(waits_for_approval)
        with pytest.raises(LookupError) as retrying:
            runner.callback_id(state.execution_arn, "approval")
        message = str(retrying.value)
        assert "no callback named 'approval'" in message and "the retry of step 'flaky'" in message
        assert "runner.wait_for_callback(arn, 'approval')" in message
        runner.resume(state.execution_arn)  # the retry runs: the execution now waits on the timer
        with pytest.raises(
            LookupError, match=r"waiting on wait 'cool-off'.*wait_for_callback\(arn, 'approval'\)"
        ):
            runner.callback_id(state.execution_arn, "approval")
        ended = runner.run(stamped)
        with pytest.raises(LookupError, match=r"the execution has ended \(SUCCEEDED\)"):
            runner.callback_id(ended.execution_arn)


async def test_await_for_callback_is_the_async_twin(perdure_runner: DurableTestRunner) -> None:
    arn = perdure_runner.start(waits_for_approval)
    perdure_runner.send_callback_success(await perdure_runner.await_for_callback(arn), '"ok"')
    assert (await perdure_runner.await_for_result(arn)).result == '"ok"'


def test_a_handler_without_the_decorator_warns_naming_it() -> None:
    def plain(event: Any, context: DurableContext) -> int:
        return 1

    with (
        DurableTestRunner.start_time_skipping() as runner,
        pytest.warns(UndecoratedHandlerWarning, match="@durable_execution"),
    ):
        result = runner.run(plain)
    assert result.succeeded


def test_the_perdure_runner_fixture_skips_time(perdure_runner: DurableTestRunner) -> None:
    @durable_execution
    def sleepy(event: Any, context: DurableContext) -> str:
        context.wait(timedelta(hours=12), name="half a day")
        return "rested"

    result = perdure_runner.run(sleepy)
    assert result.result == "rested" and result.invocations == 2


async def _async_run(runner: DurableTestRunner) -> Any:
    return await runner.arun(stamped)


def test_the_fixture_serves_async_tests_through_the_twins(perdure_runner: DurableTestRunner) -> None:
    import asyncio

    assert asyncio.run(_async_run(perdure_runner)).result == WHEN.isoformat()


def test_what_tests_need_is_importable_from_perdure_testing() -> None:
    import perdure.testing as testing

    assert ErrorObject(error_type="E").type == "E"
    for name in ("EngineStalledError", "ErrorObject", "EventType", "ExecutionStatus", "find_callback_id"):
        assert name in testing.__all__


def test_the_runner_is_an_async_context_manager_too() -> None:
    @durable_execution
    async def handler(event: Any, context: Any) -> int:
        return int(await context.step(lambda _: 7))

    async def test_body() -> str:
        async with DurableTestRunner.start_time_skipping() as runner:
            return (await runner.arun(handler)).status

    assert asyncio.run(test_body()) == "SUCCEEDED"
