"""The async face end to end on the embedded engine (`DurableTestRunner`, time skipped):
callbacks, wait-for-condition, chained invoke, a `TaskGroup` that suspends, the runner's
awaitable twins and a handler in a worker process."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest

from perdure import (
    AsyncDurableContext,
    Duration,
    RetryStrategyConfig,
    StepConfig,
    StepSemantics,
    WaitForConditionConfig,
    WaitStrategyConfig,
    create_retry_strategy,
    create_wait_strategy,
    durable_execution,
    durable_wait_for_callback,
)
from perdure.sdk.aio import process_loop
from perdure.sdk.types import StepContext, WaitForCallbackContext, WaitForConditionCheckContext
from perdure.testing import DurableTestRunner

submitted: list[tuple[str, str]] = []


@durable_wait_for_callback
async def ask(callback_id: str, context: WaitForCallbackContext, who: str) -> None:
    submitted.append((callback_id, who))


async def count_up(state: int, context: WaitForConditionCheckContext) -> int:
    return state + 1


@durable_execution
async def approval(event: Any, ctx: AsyncDurableContext) -> Any:
    answer = await ctx.wait_for_callback(ask("bob"), name="approve")
    polls = await ctx.wait_for_condition(
        count_up,
        WaitForConditionConfig(
            wait_strategy=create_wait_strategy(WaitStrategyConfig(should_continue_polling=lambda s: s < 3)),
            initial_state=0,
        ),
        name="poll",
    )
    invoked = await ctx.invoke("double", {"x": 21}, name="call")
    return {"answer": answer, "polls": polls, "invoked": invoked}


@durable_execution
async def double(event: Any, ctx: AsyncDurableContext) -> Any:
    return {"doubled": await ctx.step(lambda _: event["x"] * 2, name="double")}


async def _awaiting(awaitable: Any) -> Any:
    return await awaitable


@durable_execution
async def grouped(event: Any, ctx: AsyncDurableContext) -> str:
    async with asyncio.TaskGroup() as group:
        first = group.create_task(_awaiting(ctx.step(lambda _: "stepped")))
        group.create_task(_awaiting(ctx.wait(Duration(3))))
    return first.result()


def test_callback_condition_and_invoke() -> None:
    submitted.clear()
    with DurableTestRunner.start_time_skipping() as runner:
        runner.register(double, name="double")
        suspended = runner.run_until_suspended(approval, input={})
        assert suspended.status == "RUNNING"
        assert [who for _, who in submitted] == ["bob"]
        runner.send_callback_success(runner.callback_id(suspended.execution_arn), b'"yes"')
        result = runner.wait_for_result(suspended.execution_arn)
    assert result.status == "SUCCEEDED", result.error
    assert result.result == {"answer": '"yes"', "polls": 3, "invoked": {"doubled": 42}}


def test_a_task_group_that_suspends_ends_the_invocation_pending() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(grouped, input={})
    assert result.status == "SUCCEEDED", result.error
    assert result.result == "stepped"
    assert result.invocations == 2


def test_the_runners_awaitable_twins() -> None:
    async def scenario(runner: DurableTestRunner) -> tuple[str, str]:
        first = await runner.arun(grouped, input={})
        suspended = await runner.arun_until_suspended(grouped, input={})
        resumed = await runner.aresume(suspended.execution_arn)
        return first.status, resumed.status

    with DurableTestRunner.start_time_skipping() as runner:
        assert asyncio.run(scenario(runner)) == ("SUCCEEDED", "SUCCEEDED")


def test_an_async_handler_in_a_worker_process(tmp_path: Path) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text(
        textwrap.dedent(
            """
            import asyncio
            from perdure import AsyncDurableContext, Duration, durable_execution

            @durable_execution
            async def handler(event, ctx: AsyncDurableContext):
                a, b = await asyncio.gather(ctx.step(lambda _: 1), ctx.step(lambda _: 2))
                await ctx.wait(Duration(2))
                return a + b
            """
        )
    )
    with DurableTestRunner.start_time_skipping() as runner:
        name = runner.register(f"{flow}:handler", isolation="process")
        result = runner.run(name, input={})
    assert result.status == "SUCCEEDED", result.error
    assert result.result == 3


charges: list[str] = []


async def charge(_: StepContext) -> str:
    charges.append("charge")
    await asyncio.sleep(0.05)
    return "charged"


@durable_execution
async def charge_while_approving(event: Any, ctx: AsyncDurableContext) -> Any:
    callback = await ctx.create_callback(name="approval")
    at_most_once = StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)
    answer, charged = await asyncio.gather(
        callback.result(), ctx.step(charge, name="charge", config=at_most_once)
    )
    return [answer, charged]


def test_a_step_beside_a_pending_callback_finishes_before_the_invocation_suspends() -> None:
    charges.clear()
    with DurableTestRunner.start_time_skipping() as runner:
        suspended = runner.run_until_suspended(charge_while_approving, input={})
        assert suspended.operation("charge").status == "SUCCEEDED"
        runner.send_callback_success(runner.callback_id(suspended.execution_arn, "approval"), '"ok"')
        result = runner.wait_for_result(suspended.execution_arn)
    assert result.status == "SUCCEEDED", result.error
    assert result.result == ['"ok"', "charged"] and charges == ["charge"]


@durable_execution
async def impatient(event: Any, ctx: AsyncDurableContext) -> Any:
    callback = await ctx.create_callback(name="approval")
    slow = ctx.step(charge, name="charge")
    try:
        answer = await asyncio.wait_for(callback.result(), 0.01)
    except TimeoutError:
        return "timed out"  # a replay, where the result suspends at once, would not come here
    return [answer, await slow]


def test_a_timeout_around_a_callback_result_held_beside_a_running_step_suspends_instead() -> None:
    charges.clear()
    with DurableTestRunner.start_time_skipping() as runner:
        suspended = runner.run_until_suspended(impatient, input={})
        assert suspended.operation("charge").status == "SUCCEEDED"
        runner.send_callback_success(runner.callback_id(suspended.execution_arn, "approval"), '"ok"')
        result = runner.wait_for_result(suspended.execution_arn)
    assert result.status == "SUCCEEDED", result.error
    assert result.result == ['"ok"', "charged"] and charges == ["charge"]


def _tasks_on_the_loop() -> int:
    async def count() -> int:
        return len(asyncio.all_tasks()) - 1

    return asyncio.run_coroutine_threadsafe(count(), process_loop()).result()


@durable_execution
async def lanes_in_a_task_group(event: Any, ctx: AsyncDurableContext) -> Any:
    long = ctx.wait(Duration(3600), name="long")

    async def after_a_short_wait() -> str:
        await ctx.wait(Duration(1), name="short")
        at_most_once = StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)
        return await ctx.step(charge, name="charge", config=at_most_once)

    async with asyncio.TaskGroup() as group:
        group.create_task(_awaiting(long))
        charged = group.create_task(after_a_short_wait())
    return charged.result()


def test_a_task_group_lets_a_step_its_other_task_starts_finish() -> None:
    # On the invocation after the short wait, the long one suspends at once, before the other
    # task starts its step: the suspension waits a few turns, and then for the step.
    charges.clear()
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(lanes_in_a_task_group, input={})
    assert result.status == "SUCCEEDED", result.error
    assert result.result == "charged" and charges == ["charge"]


@durable_execution
async def cancels_what_it_awaited(event: Any, ctx: AsyncDurableContext) -> Any:
    first = ctx.step(lambda _: "a", name="a")
    value = await first
    assert first.cancel() is False  # finished: nothing to cancel (not the task that awaited it)
    return [value, await ctx.step(lambda _: "b", name="b")]


def test_cancelling_a_finished_operation_does_nothing() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(cancels_what_it_awaited, input={})
    assert result.status == "SUCCEEDED", result.error
    assert result.result == ["a", "b"]


@durable_execution
async def lane_after_waits(event: Any, ctx: AsyncDurableContext) -> Any:
    long = ctx.wait(Duration(3600), name="long")
    await ctx.wait(Duration(1), name="short")

    async def lane(child: AsyncDurableContext) -> Any:
        return await asyncio.gather(child.step(lambda _: "a", name="a"), child.step(lambda _: "b", name="b"))

    return await asyncio.gather(long, ctx.run_in_child_context(lane, name="lane"))


def test_no_task_of_an_invocation_is_left_on_the_loop() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        before = _tasks_on_the_loop()
        suspended = runner.run_until_suspended(lane_after_waits, input={})
        runner.resume(suspended.execution_arn)
        assert _tasks_on_the_loop() == before
        runner.advance(3600)
        result = runner.wait_for_result(suspended.execution_arn)
    assert result.status == "SUCCEEDED", result.error
    assert result.result == [None, ["a", "b"]]
    assert _tasks_on_the_loop() == before


@durable_execution
async def reads_a_callback_in_a_step(event: Any, ctx: AsyncDurableContext) -> Any:
    callback = await ctx.create_callback(name="approval")
    answer = await callback.result()

    async def read(_: StepContext) -> Any:
        return await callback.result()  # it has its result: reading it waits for nothing

    return [answer, await ctx.step(read, name="read")]


def test_a_step_function_may_read_a_callback_result_that_has_come() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        arn = runner.start(reads_a_callback_in_a_step, input={})
        runner.send_callback_success(runner.wait_for_callback(arn, "approval"), '"yes"')
        result = runner.wait_for_result(arn)
    assert result.status == "SUCCEEDED", result.error
    assert result.result == ['"yes"', '"yes"']


@durable_execution
async def lane_after_a_few_turns(event: Any, ctx: AsyncDurableContext) -> Any:
    async def first(_: StepContext) -> str:
        return "a"

    async def lane() -> str:
        await ctx.step(first, name="a")
        for _ in range(event["turns"]):
            await asyncio.sleep(0)  # non-durable awaits between the steps
        once = StepConfig(
            step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
            retry_strategy=create_retry_strategy(RetryStrategyConfig(max_attempts=1)),
        )  # an attempt cut short would fail the execution
        return await ctx.step(charge, name="b", config=once)

    async with asyncio.TaskGroup() as group:
        group.create_task(_awaiting(ctx.wait(Duration(10), name="w")))
        laned = group.create_task(lane())
    return laned.result()


@pytest.mark.parametrize("turns", range(10))
def test_a_step_a_task_group_lane_starts_as_a_suspension_is_given_is_not_cut_short(turns: int) -> None:
    # The lane's next step, called after the wait's suspension was given, waits to start:
    # the group cancels the lane first, and a replay runs the step.
    charges.clear()
    with DurableTestRunner.start_time_skipping() as runner:
        arn = runner.run_until_suspended(lane_after_a_few_turns, input={"turns": turns}).execution_arn
        for _ in range(3):
            if runner.result(arn).status == "RUNNING":
                runner.resume(arn)
        result = runner.result(arn)
    assert result.status == "SUCCEEDED", result.error
    assert result.result == "charged" and charges == ["charge"]


@durable_execution
async def ignores_a_suspension(event: Any, ctx: AsyncDurableContext) -> Any:
    async def background() -> None:
        await ctx.wait(Duration(60), name="ignored")  # its suspension goes nowhere

    asyncio.get_running_loop().create_task(background())
    await asyncio.sleep(0.05)
    return await ctx.step(lambda _: "went on", name="after")


def test_operations_after_a_suspension_nobody_passes_on_start_a_moment_later() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(ignores_a_suspension, input={})
    assert result.status == "SUCCEEDED", result.error
    assert result.result == "went on"
