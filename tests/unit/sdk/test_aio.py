"""perdure.sdk.aio: the asyncio face over the same operations as the sync face."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from perdure.sdk.aio import LONE_TURN_SECONDS, AsyncDurableContext, process_loop
from perdure.sdk.completion import CompletionConfig, MapConfig, ParallelConfig
from perdure.sdk.config import Duration, StepConfig, StepSemantics
from perdure.sdk.context import DurableContext, durable_step, durable_with_child_context
from perdure.sdk.execution import durable_execution
from perdure.sdk.ids import operation_id
from perdure.sdk.retries import RetryStrategyConfig, create_retry_strategy
from perdure.sdk.types import StepContext
from perdure.sdk.waits import WaitForConditionConfig, WaitForConditionDecision
from perdure.wire.types import OperationUpdate

from .fakes import FakeService, run_to_end

NO_RETRY = StepConfig(retry_strategy=create_retry_strategy(RetryStrategyConfig(max_attempts=1)))


def shape(updates: list[OperationUpdate]) -> list[tuple[Any, ...]]:
    """What a history is made of, per update: id, type, sub-type, name, parent, action, payload."""
    return [(u.id, u.type.value, u.sub_type, u.name, u.parent_id, u.action.value, u.payload) for u in updates]


def error_of(output: dict[str, Any]) -> tuple[str, str]:
    return output["Error"]["ErrorType"].rsplit(".", 1)[-1], output["Error"]["ErrorMessage"]


# ------------------------------------------------------------------ ids and order


def test_ids_are_taken_when_operations_are_called_not_when_they_finish() -> None:
    finished: list[str] = []

    async def slow(_: StepContext) -> str:
        await asyncio.sleep(0.02)
        finished.append("slow")
        return "slow"

    async def fast(_: StepContext) -> str:
        finished.append("fast")
        return "fast"

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> list[str]:
        return list(await asyncio.gather(ctx.step(slow, name="slow"), ctx.step(fast, name="fast")))

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert json.loads(output["Result"]) == ["slow", "fast"]
    assert finished == ["fast", "slow"]
    starts = {u.name: u.id for u in service.updates() if u.action.value == "START"}
    assert starts == {"slow": operation_id(None, 1), "fast": operation_id(None, 2)}


def test_a_handler_writes_the_history_the_sync_face_writes() -> None:
    def branch_sync(ctx: DurableContext) -> int:
        return ctx.step(lambda _: 5, name="inner")

    async def branch_async(ctx: AsyncDurableContext) -> int:
        return await ctx.step(lambda _: 5, name="inner")

    @durable_execution
    def sync_handler(event: Any, ctx: DurableContext) -> Any:
        a = ctx.step(lambda _: 1, name="a")
        ctx.wait(Duration(2), name="w")
        b = ctx.run_in_child_context(lambda c: c.step(lambda _: 2, name="in-child"), name="child")
        m = ctx.map([1, 2, 3], lambda c, item, i, items: c.step(lambda _: item * 10), name="m")
        p = ctx.parallel([branch_sync, branch_sync], name="p", config=ParallelConfig(max_concurrency=1))
        return [a, b, m.get_results(), p.get_results()]

    @durable_execution
    async def async_handler(event: Any, ctx: AsyncDurableContext) -> Any:
        a = await ctx.step(lambda _: 1, name="a")
        await ctx.wait(Duration(2), name="w")

        async def child(c: AsyncDurableContext) -> int:
            return await c.step(lambda _: 2, name="in-child")

        b = await ctx.run_in_child_context(child, name="child")

        async def item_body(c: AsyncDurableContext, item: int, i: int, items: Any) -> int:
            return await c.step(lambda _: item * 10)

        m = await ctx.map([1, 2, 3], item_body, name="m")
        p = await ctx.parallel(
            [branch_async, branch_async], name="p", config=ParallelConfig(max_concurrency=1)
        )
        return [a, b, m.get_results(), p.get_results()]

    sync_service, async_service = FakeService(), FakeService()
    sync_output, sync_invocations = run_to_end(sync_handler, sync_service)
    async_output, async_invocations = run_to_end(async_handler, async_service)
    assert async_output == sync_output
    assert async_invocations == sync_invocations == 2
    # Branches may finish in any order on either face: compare each operation's updates.
    assert sorted(shape(async_service.updates()), key=str) == sorted(shape(sync_service.updates()), key=str)


def test_durable_step_and_child_decorators_name_async_functions() -> None:
    @durable_step
    async def charge(step_context: StepContext, amount: int) -> int:
        return amount + 1

    @durable_with_child_context
    async def checkout(ctx: AsyncDurableContext, amount: int) -> int:
        return await ctx.step(charge(amount))

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> int:
        return await ctx.run_in_child_context(checkout(41))

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert json.loads(output["Result"]) == 42
    assert [u.name for u in service.updates() if u.action.value == "START"] == ["checkout", "charge"]


# -------------------------------------------------------------------- where code runs


def test_async_bodies_run_on_the_loop_and_sync_bodies_off_it() -> None:
    where: dict[str, str] = {}

    async def on_loop(_: StepContext) -> None:
        where["async"] = threading.current_thread().name

    def off_loop(_: StepContext) -> None:
        where["sync"] = threading.current_thread().name

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> None:
        await ctx.step(on_loop)
        await ctx.step(off_loop)

    output, _ = run_to_end(handler, FakeService())
    assert output["Status"] == "SUCCEEDED"
    assert where["async"] == "perdure-event-loop"
    assert where["sync"].startswith("perdure-sync-body")


class _InProcessService(FakeService):
    """A service that answers in this process, as the engine's does."""

    answers_in_process = True


class _ThreadRecordingService(_InProcessService):
    """Records, per checkpoint request, its step ids and the thread that sent it."""

    def __init__(self) -> None:
        super().__init__()
        self.senders: list[tuple[tuple[str | None, ...], str]] = []

    def checkpoint_durable_execution(self, request: Any) -> Any:
        names = tuple(u.name for u in request.updates if u.name)
        self.senders.append((names, threading.current_thread().name))
        return super().checkpoint_durable_execution(request)


def test_a_lone_task_checkpoints_on_the_loop_and_never_while_another_task_runs() -> None:
    # Alone on the loop, a step's checkpoint is sent on the loop's thread (nothing else
    # could run meanwhile); with another task alive it goes to the writer thread, so a
    # slow checkpoint never holds that task up.
    service = _ThreadRecordingService()
    ticks: list[int] = []

    async def tick() -> None:
        while True:
            ticks.append(1)
            await asyncio.sleep(0.001)

    async def body(_: StepContext) -> int:
        return 1

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> int:
        total = await ctx.step(body, name="alone")
        ticker = asyncio.create_task(tick())
        total += await ctx.step(body, name="beside-a-task")
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        total += await ctx.step(body, name="alone-again")
        return total

    output, _ = run_to_end(handler, service)
    assert output["Status"] == "SUCCEEDED" and json.loads(output["Result"]) == 3
    senders = {names: thread for names, thread in service.senders if names}
    assert senders[("alone", "alone")] == "perdure-event-loop"
    assert senders[("beside-a-task", "beside-a-task")] == "perdure-checkpoint"
    assert senders[("alone-again", "alone-again")] == "perdure-event-loop"


def test_a_lone_task_gives_the_loop_a_turn_between_slow_checkpoints() -> None:
    # Checkpoints sent on the loop's thread do not keep what else is due on the loop (say,
    # another execution arriving) waiting until a long sequence of steps ends.
    events: list[str] = []

    class SlowService(_InProcessService):
        def checkpoint_durable_execution(self, request: Any) -> Any:
            names = [u.name for u in request.updates if u.name]
            if names:
                events.append(f"checkpoint {names[0]}")
                if names[0] == "s0":
                    process_loop().call_soon_threadsafe(events.append, "callback")
                time.sleep(LONE_TURN_SECONDS * 1.2)  # longer than a lone task keeps the loop
            return super().checkpoint_durable_execution(request)

    async def body(_: StepContext) -> None:
        return None

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> None:
        for i in range(4):
            await ctx.step(body, name=f"s{i}")

    output, _ = run_to_end(handler, SlowService())
    assert output["Status"] == "SUCCEEDED"
    assert events.index("checkpoint s0") < events.index("callback") < events.index("checkpoint s1")


def test_timers_due_during_lone_checkpoints_run_at_the_next_turn() -> None:
    order: list[str] = []

    class SlowService(_InProcessService):
        def checkpoint_durable_execution(self, request: Any) -> Any:
            names = [u.name for u in request.updates if u.name]
            if names:
                order.append(names[0])
                time.sleep(LONE_TURN_SECONDS * 1.2)
            return super().checkpoint_durable_execution(request)

    async def body(_: StepContext) -> None:
        return None

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> None:
        await ctx.step(body, name="s0")
        asyncio.get_running_loop().call_later(0.001, order.append, "timer")
        for i in range(1, 4):
            await ctx.step(body, name=f"s{i}")

    output, _ = run_to_end(handler, SlowService())
    assert output["Status"] == "SUCCEEDED"
    assert order.index("s1") < order.index("timer") < order.index("s2")


def test_a_client_that_is_not_in_process_is_never_called_on_the_loop() -> None:
    # A client that makes its call through perdure's own loop (an async HTTP client kept
    # there) would wait for itself on the loop's thread; a remote call would hold the loop
    # for its round trip. Only a client that answers in this process is called there.
    threads: set[str] = set()

    class Bridged(FakeService):
        def checkpoint_durable_execution(self, request: Any) -> Any:
            threads.add(threading.current_thread().name)

            async def call() -> Any:
                await asyncio.sleep(0)
                return FakeService.checkpoint_durable_execution(self, request)

            return asyncio.run_coroutine_threadsafe(call(), process_loop()).result(timeout=10)

    async def body(_: StepContext) -> int:
        return 1

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> int:
        return await ctx.step(body) + await ctx.step(body)

    output, _ = run_to_end(handler, Bridged())
    assert output["Status"] == "SUCCEEDED" and json.loads(output["Result"]) == 2
    assert "perdure-event-loop" not in threads


def test_the_event_loop_survives_from_one_invocation_to_the_next() -> None:
    loops: list[asyncio.AbstractEventLoop] = []
    shared: dict[str, asyncio.Queue[int]] = {}

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> int:
        loops.append(asyncio.get_running_loop())
        # A module-level client bound to the loop (httpx.AsyncClient, aiobotocore) keeps working.
        queue = shared.setdefault("queue", asyncio.Queue())
        queue.put_nowait(len(loops))
        await ctx.wait(Duration(1))
        return await queue.get()

    output, invocations = run_to_end(handler, FakeService())
    assert invocations == 2 and output["Status"] == "SUCCEEDED"
    assert loops[0] is loops[1] is process_loop()


# ------------------------------------------------------------------- control flow


def test_user_except_exception_does_not_swallow_suspension() -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> str:
        try:
            await ctx.wait(Duration(5))
        except Exception:
            return "swallowed"
        return "resumed"

    service = FakeService()
    first = handler(service.invocation(), None)
    assert first["Status"] == "PENDING"
    service.advance()
    assert json.loads(handler(service.invocation(), None)["Result"]) == "resumed"


def test_a_suspension_ends_the_invocation_with_nothing_left_running() -> None:
    body_started = threading.Event()
    body_ended = threading.Event()
    release = threading.Event()

    def slow(_: StepContext) -> str:
        body_started.set()
        release.wait(5)
        body_ended.set()
        return "late"

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> None:
        pending = ctx.step(slow, name="slow")
        assert await asyncio.to_thread(body_started.wait, 5)  # the sync body is running now
        threading.Timer(0.05, release.set).start()
        await asyncio.gather(ctx.wait(Duration(5)), pending)

    service = FakeService()
    before = _tasks_on_the_loop()
    output = handler(service.invocation(), None)
    assert output["Status"] == "PENDING"
    # The sync body was joined before the invocation returned, and no task is left.
    assert body_ended.is_set()
    assert _tasks_on_the_loop() == before


AT_MOST_ONCE = StepConfig(
    step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY, retry_strategy=NO_RETRY.retry_strategy
)


def _sleeping(result: str, seconds: float, runs: list[str] | None = None, name: str = "") -> Any:
    """An async step function that records its run in `runs` (as `name`), sleeps, returns `result`."""

    async def body(_: StepContext) -> str:
        if runs is not None:
            runs.append(name)
        await asyncio.sleep(seconds)
        return result

    return body


def _statuses(service: FakeService) -> dict[str, str]:
    return {op.name: op.status.value for op in service.operations() if op.type.value != "EXECUTION"}


@pytest.mark.parametrize("config", [AT_MOST_ONCE, None], ids=["at-most-once", "at-least-once"])
def test_a_step_running_beside_a_wait_finishes_before_the_invocation_suspends(
    config: StepConfig | None,
) -> None:
    runs: list[str] = []

    charge = _sleeping("charged", 0.05, runs, "charge")

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        _, charged = await asyncio.gather(
            ctx.wait(Duration(5), name="cool-off"), ctx.step(charge, name="charge", config=config)
        )
        return charged

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    # The step ended and its result is recorded before the invocation returned.
    assert _statuses(service) == {"cool-off": "STARTED", "charge": "SUCCEEDED"}
    service.advance()
    output = handler(service.invocation(), None)
    assert json.loads(output["Result"]) == "charged" and runs == ["charge"]


def test_a_step_failing_beside_a_pending_wait_fails_the_execution_at_once() -> None:
    async def boom(_: StepContext) -> None:
        await asyncio.sleep(0.02)
        raise ValueError("declined")

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        await asyncio.gather(
            ctx.wait(Duration(3600), name="long"), ctx.step(boom, name="boom", config=NO_RETRY)
        )

    output = handler(FakeService().invocation(), None)
    assert output["Status"] == "FAILED" and "declined" in output["Error"]["ErrorMessage"]


def test_operations_a_finished_step_leads_to_run_before_a_held_wait_suspends() -> None:
    async def chain(ctx: AsyncDurableContext) -> list[str]:
        first = await ctx.step(_named("a"), name="a")
        second = await ctx.step(_named("b"), name="b")
        return [first, second]

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        _, steps = await asyncio.gather(ctx.wait(Duration(5), name="w"), chain(ctx))
        return steps

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    assert _statuses(service) == {"w": "STARTED", "a": "SUCCEEDED", "b": "SUCCEEDED"}
    service.advance()
    assert json.loads(handler(service.invocation(), None)["Result"]) == ["a", "b"]


def _named(name: str) -> Callable[[StepContext], Any]:
    async def body(_: StepContext) -> str:
        await asyncio.sleep(0.01)
        return name

    return body


def test_a_task_group_with_a_wait_lets_its_running_step_finish() -> None:
    runs: list[str] = []

    charge = _sleeping("charged", 0.05, runs, "charge")

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        async with asyncio.TaskGroup() as group:
            group.create_task(_awaiting(ctx.wait(Duration(5), name="w")))
            charged = group.create_task(_awaiting(ctx.step(charge, name="charge", config=AT_MOST_ONCE)))
        return charged.result()

    output, invocations = run_to_end(handler, FakeService())
    assert json.loads(output["Result"]) == "charged" and runs == ["charge"] and invocations == 2


def test_a_timeout_around_a_wait_held_beside_a_running_step_suspends_instead_of_firing() -> None:
    slow = _sleeping("done", 0.3)

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        step = ctx.step(slow, name="slow")
        try:
            await asyncio.wait_for(ctx.wait(Duration(60), name="w"), 0.05)
        except TimeoutError:
            return "timed out"  # a replay, where the wait suspends at once, would not come here
        return await step

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    assert _statuses(service) == {"slow": "SUCCEEDED", "w": "STARTED"}
    output, _ = run_to_end(handler, service)
    assert json.loads(output["Result"]) == "done"


def test_a_wait_beside_a_map_suspends_once_the_map_is_done() -> None:
    async def item(ctx: AsyncDurableContext, value: int, index: int, items: list[int]) -> int:
        return await ctx.step(_doubled(value), name=f"double {value}")

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        _, doubled = await asyncio.gather(
            ctx.wait(Duration(5), name="w"), ctx.map([1, 2, 3], item, name="doubles")
        )
        return doubled.get_results()

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    assert _statuses(service)["doubles"] == "SUCCEEDED"
    service.advance()
    assert json.loads(handler(service.invocation(), None)["Result"]) == [2, 4, 6]


def _doubled(value: int) -> Callable[[StepContext], Any]:
    async def body(_: StepContext) -> int:
        await asyncio.sleep(0.01)
        return value * 2

    return body


def test_two_gathered_coroutines_one_waiting_one_stepping_then_waiting() -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        async def waits() -> None:
            await ctx.wait(Duration(3), name="a-wait")

        async def steps() -> str:
            worked = await ctx.step(_named("worked"), name="b-step")
            await ctx.wait(Duration(1), name="b-wait")
            return str(worked)

        return await asyncio.gather(waits(), steps())

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    assert _statuses(service) == {"a-wait": "STARTED", "b-step": "SUCCEEDED", "b-wait": "STARTED"}
    output, _ = run_to_end(handler, service)
    assert json.loads(output["Result"]) == [None, "worked"]


def test_cancelling_a_task_awaiting_a_held_wait_suspends_it() -> None:
    slow = _sleeping("done", 0.2)

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        step = ctx.step(slow, name="slow")

        async def waiter() -> None:
            await ctx.wait(Duration(60), name="w")

        waiting = asyncio.create_task(waiter())
        await asyncio.sleep(0.05)
        waiting.cancel()
        try:
            await waiting
        except asyncio.CancelledError:
            return "cancelled"
        return await step

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    output, _ = run_to_end(handler, service)
    assert json.loads(output["Result"]) == "done"


@pytest.mark.parametrize("config", [AT_MOST_ONCE, None], ids=["at-most-once", "at-least-once"])
def test_a_timeout_around_a_held_wait_in_a_task_group_does_not_cut_the_step_beside_it(
    config: StepConfig | None,
) -> None:
    runs: list[str] = []

    slow = _sleeping("done", 0.3, runs, "slow")

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        async def timed() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ctx.wait(Duration(5), name="w"), 0.05)

        async with asyncio.TaskGroup() as group:
            group.create_task(timed())
            stepped = group.create_task(_awaiting(ctx.step(slow, name="slow", config=config)))
        return stepped.result()

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    assert _statuses(service) == {"w": "STARTED", "slow": "SUCCEEDED"}
    output, _ = run_to_end(handler, service)
    assert json.loads(output["Result"]) == "done" and runs == ["slow"]


def test_a_handler_returning_past_a_cancelled_held_wait_fails() -> None:
    slow = _sleeping("done", 0.2)

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        step = ctx.step(slow, name="slow")

        async def timed() -> None:
            await asyncio.wait_for(ctx.wait(Duration(60), name="w"), 10)

        waiting = asyncio.get_running_loop().create_task(timed())
        await asyncio.sleep(0.05)
        waiting.cancel()  # the task around wait_for is cancelled: wait_for raises CancelledError
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        return await step

    kind, message = error_of(handler(FakeService().invocation(), None))
    assert kind == "OperationCancelledError" and message.startswith("wait 'w' ")


def test_a_task_group_whose_step_fails_beside_a_held_wait_fails_once_the_wait_is_over() -> None:
    async def boom(_: StepContext) -> None:
        await asyncio.sleep(0.05)
        raise ValueError("declined")

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(_awaiting(ctx.wait(Duration(5), name="w")))
            group.create_task(_awaiting(ctx.step(boom, name="boom", config=NO_RETRY)))

    # The group's cancellation gives the wait its suspension: the invocation suspends, as a
    # replay would (the wait suspends there before the group sees the recorded failure).
    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    output, _ = run_to_end(handler, service)
    kind, message = error_of(output)
    assert kind == "ExceptionGroup" and "StepError: declined" in message


def test_an_operation_called_after_a_suspended_handler_ended_never_runs_nor_stays_pending() -> None:
    runs: list[str] = []

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        async def waits() -> None:
            await ctx.wait(Duration(1), name="w")

        async def late() -> str:
            await asyncio.sleep(0.02)
            return await ctx.step(lambda _: runs.append("late") or "late", name="late")

        return await asyncio.gather(waits(), late())

    before = _tasks_on_the_loop()
    assert handler(FakeService().invocation(), None)["Status"] == "PENDING"
    time.sleep(0.1)
    assert runs == [] and _tasks_on_the_loop() == before


def test_a_branch_suspending_in_its_map_does_not_hide_a_step_cut_by_a_timeout_elsewhere() -> None:
    slow = _sleeping("s", 0.2)

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        async def branch(c: AsyncDurableContext, v: int, i: int, items: list[int]) -> int:
            if v == 0:
                await c.wait(Duration(1), name="bw")  # the map handles it: the invocation goes on
            else:
                await asyncio.sleep(0.3)
            return v

        async def timed() -> str:
            await asyncio.sleep(0.05)
            try:
                return await asyncio.wait_for(ctx.step(slow, name="slow"), 0.05)
            except TimeoutError:
                return "timeout"

        mapped, timed_out = await asyncio.gather(ctx.map([0, 1], branch, name="m"), timed())
        return [mapped.get_results(), timed_out]

    kind, message = error_of(handler(FakeService().invocation(), None))
    assert kind == "OperationCancelledError" and message.startswith("step 'slow' ")


def test_a_task_left_running_by_a_handler_that_returned_is_cancelled_with_its_step() -> None:
    runs: list[str] = []

    async def slow(_: StepContext) -> str:
        runs.append("start")
        await asyncio.sleep(0.3)
        runs.append("end")
        return "s"

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> str:
        async def background() -> None:
            await ctx.step(slow, name="background")

        asyncio.get_running_loop().create_task(background())
        await asyncio.sleep(0.05)
        return "done"

    before = _tasks_on_the_loop()
    assert json.loads(handler(FakeService().invocation(), None)["Result"]) == "done"
    assert _tasks_on_the_loop() == before
    time.sleep(0.4)
    assert runs == ["start"]


def _ignoring_a_suspension(ctx: AsyncDurableContext) -> None:
    async def background() -> None:
        await ctx.wait(Duration(60), name="ignored")  # its suspension goes nowhere

    asyncio.get_running_loop().create_task(background())


def test_an_operation_never_awaited_after_an_ignored_suspension_is_still_reported() -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> str:
        _ignoring_a_suspension(ctx)
        await asyncio.sleep(0.02)
        ctx.step(lambda _: "x", name="forgotten")  # waits to start, and is never awaited
        return "done"

    kind, message = error_of(handler(FakeService().invocation(), None))
    assert kind == "DurableUsageError" and "step 'forgotten'" in message and "never awaited" in message


def test_a_timeout_around_an_operation_waiting_to_start_fails_instead_of_diverging() -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> str:
        _ignoring_a_suspension(ctx)
        await asyncio.sleep(0.02)
        try:
            return await asyncio.wait_for(ctx.step(lambda _: "fast", name="fast"), 0.05)
        except TimeoutError:  # on replay the step would not wait: this path could not repeat
            await ctx.step(lambda _: "fallback", name="fallback")
            await ctx.wait(Duration(120), name="later")
            return "fell back"

    kind, message = error_of(handler(FakeService().invocation(), None))
    assert kind == "OperationCancelledError" and message.startswith("step 'fast' ")


def test_a_revoked_token_ends_the_invocation_without_waiting_for_running_steps() -> None:
    slow = _sleeping("done", 3)

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        return await asyncio.gather(ctx.wait(Duration(5), name="w"), ctx.step(slow, name="slow"))

    service = FakeService()
    service.revoke_next = True
    started = time.monotonic()
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    assert time.monotonic() - started < 2


def test_a_step_cancelled_before_it_started_never_runs_and_a_later_wait_suspends() -> None:
    runs: list[str] = []

    async def body(_: StepContext) -> None:
        runs.append("ran")

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> str:
        ctx.step(body, name="never").cancel()
        await ctx.wait(Duration(5), name="w")
        return "resumed"

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    service.advance()
    assert json.loads(handler(service.invocation(), None)["Result"]) == "resumed"
    assert runs == []


def _tasks_on_the_loop() -> int:
    async def count() -> int:
        return len(asyncio.all_tasks()) - 1

    return asyncio.run_coroutine_threadsafe(count(), process_loop()).result()


def test_a_step_error_is_raised_where_it_is_awaited() -> None:
    async def boom(_: StepContext) -> None:
        raise ValueError("no")

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> str:
        from perdure.sdk.errors import StepError

        try:
            await ctx.step(boom, name="boom", config=NO_RETRY)
        except StepError as exc:
            return f"caught {exc.error_type}"
        return "not raised"

    output, _ = run_to_end(handler, FakeService())
    assert json.loads(output["Result"]) == "caught ValueError"


# -------------------------------------------------------------------------- misuse


def test_an_operation_never_awaited_fails_the_execution_naming_it() -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> str:
        ctx.step(lambda _: 1, name="forgotten")
        await asyncio.sleep(0.01)
        return "done"

    output, _ = run_to_end(handler, FakeService())
    kind, message = error_of(output)
    assert kind == "DurableUsageError"
    assert "'forgotten'" in message and "never awaited" in message


def test_an_async_step_body_on_the_sync_face_is_refused() -> None:
    async def body(_: StepContext) -> int:
        return 1

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.step(body, name="async-body")

    service = FakeService()
    output, _ = run_to_end(handler, service)
    kind, message = error_of(output)
    assert kind == "DurableUsageError" and "async-body" in message and "async def" in message
    assert service.updates() == []  # refused before anything is checkpointed


def test_a_sync_handler_returning_a_coroutine_fails_clearly() -> None:
    async def main(event: Any, ctx: Any) -> int:
        return 1

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return main(event, ctx)

    output, _ = run_to_end(handler, FakeService())
    kind, message = error_of(output)
    assert kind == "DurableUsageError" and "async def" in message


def test_an_async_handler_returning_an_unawaited_coroutine_is_told_to_await_it() -> None:
    async def helper() -> int:
        return 1

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        return helper()

    output, _ = run_to_end(handler, FakeService())
    kind, message = error_of(output)
    assert kind == "DurableUsageError" and "an `async def` handler awaits it" in message


@pytest.mark.parametrize("face", ["sync", "async"])
def test_a_coroutine_given_to_a_step_is_refused_before_anything_runs(face: str) -> None:
    async def helper(_: StepContext) -> int:
        return 1

    @durable_execution
    async def async_handler(event: Any, ctx: AsyncDurableContext) -> Any:
        return await ctx.step(helper(None), name="c")  # type: ignore[arg-type]

    @durable_execution
    def sync_handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.step(helper(None), name="c")  # type: ignore[arg-type]

    service = FakeService()
    output, _ = run_to_end(async_handler if face == "async" else sync_handler, service)
    kind, message = error_of(output)
    assert kind == "DurableUsageError" and "step was given a coroutine, " in message and "helper" in message
    assert service.updates() == []  # refused, not retried


def _inner_step(ctx: AsyncDurableContext) -> Any:
    async def body(_: StepContext) -> Any:
        return await ctx.step(lambda _: 1, name="inner")

    return body


def _coroutine_of_a_sync_function(ctx: AsyncDurableContext) -> Any:
    async def inner(_: StepContext) -> Any:
        return await ctx.step(lambda _: 1, name="inner")

    return lambda step: inner(step)  # a plain function: run off the loop, its coroutine on it


def _swallowed_wait(ctx: AsyncDurableContext) -> Any:
    async def body(_: StepContext) -> str:
        try:
            await ctx.wait(Duration(5), name="pause")
        except Exception:
            return "swallowed"
        return "waited"

    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_inner_step, "step 'inner' (id "),
        (_swallowed_wait, "wait 'pause' (id "),  # an `except Exception` in the body cannot hide it
        (_coroutine_of_a_sync_function, "step 'inner' (id "),
    ],
    ids=["step", "caught-wait", "sync-function-returning-a-coroutine"],
)
def test_an_operation_inside_an_async_step_function_fails_the_execution(body: Any, message: str) -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        return await ctx.step(body(ctx), name="outer")

    output, _ = run_to_end(handler, FakeService())
    kind, text = error_of(output)
    assert kind == "DurableUsageError" and text.startswith(message)
    assert "was started inside step 'outer'" in text and "cannot run or await durable operations" in text


def test_a_step_function_awaiting_an_operation_of_the_handler_fails_instead_of_waiting_forever() -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        pause = ctx.wait(Duration(5), name="pause")

        async def body(_: StepContext) -> Any:
            return await pause  # the wait would be held until this step ends

        return await ctx.step(body, name="outer")

    output, _ = run_to_end(handler, FakeService())
    kind, text = error_of(output)
    assert kind == "DurableUsageError" and text.startswith("wait 'pause' (id ")
    assert "was awaited inside step 'outer'" in text


@pytest.mark.parametrize(
    "through",
    [
        lambda op: asyncio.gather(op),
        lambda op: asyncio.shield(op),
        lambda op: asyncio.wait([op]),
    ],
    ids=["gather", "shield", "wait"],
)
def test_a_step_function_waiting_for_an_operation_through_asyncio_fails_too(through: Any) -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        pause = ctx.wait(Duration(5), name="pause")

        async def body(_: StepContext) -> Any:
            await through(pause)

        return await ctx.step(body, name="outer")

    kind, text = error_of(handler(FakeService().invocation(), None))
    assert kind == "DurableUsageError" and "was awaited inside step 'outer'" in text


def test_a_step_function_may_read_an_operation_that_has_ended() -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        first = ctx.step(lambda _: 20, name="first")
        await first

        async def body(_: StepContext) -> int:
            return await first + 1

        return await ctx.step(body, name="second")

    assert json.loads(handler(FakeService().invocation(), None)["Result"]) == 21


def test_an_operation_inside_an_async_check_fails_and_child_functions_may_run_them() -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        async def kid(child: AsyncDurableContext) -> int:
            return int(await child.step(lambda _: 2, name="in the child"))

        total = await ctx.run_in_child_context(kid, name="kid")  # allowed: the child's own context

        async def check(state: int, _: Any) -> int:
            return int(await ctx.step(lambda _: state + total, name="in the check"))

        return await ctx.wait_for_condition(
            check,
            WaitForConditionConfig(lambda s, n: WaitForConditionDecision.stop_polling(), initial_state=0),
        )

    output, _ = run_to_end(handler, FakeService())
    kind, text = error_of(output)
    assert kind == "DurableUsageError" and "step 'in the check'" in text and "was started inside" in text


def test_an_async_context_used_from_a_sync_step_body_is_refused() -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        def body(_: StepContext) -> Any:
            return ctx.step(lambda _: 1, name="inner")  # on a worker thread: no loop

        return await ctx.step(body, name="outer")

    output, _ = run_to_end(handler, FakeService())
    kind, message = error_of(output)
    assert kind == "DurableUsageError" and "outside the invocation's event loop" in message


def test_a_sync_step_body_catching_the_refusal_still_fails_the_execution() -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        def body(_: StepContext) -> str:
            try:
                ctx.step(lambda _: 1, name="inner")
            except Exception:
                return "swallowed"  # the id "inner" took is gone: replay would shift
            return "ran"

        return await ctx.step(body, name="outer")

    output, _ = run_to_end(handler, FakeService())
    kind, message = error_of(output)
    assert kind == "DurableUsageError" and "outside the invocation's event loop" in message


# --------------------------------------------------------------------- cancellation


def test_a_timeout_around_a_running_step_fails_the_execution() -> None:
    async def slow(_: StepContext) -> None:
        await asyncio.sleep(10)

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> str:
        try:
            async with asyncio.timeout(0.05):
                await ctx.step(slow, name="slow")
        except TimeoutError:
            return "timed out"
        return "finished"

    output, _ = run_to_end(handler, FakeService())
    kind, message = error_of(output)
    assert kind == "OperationCancelledError"
    assert "'slow'" in message and "inside the step body" in message


def test_a_timeout_inside_the_step_body_is_an_ordinary_failed_attempt() -> None:
    async def slow(_: StepContext) -> str:
        try:
            async with asyncio.timeout(0.01):
                await asyncio.sleep(10)
        except TimeoutError:
            return "gave up"
        return "finished"

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> str:
        return await ctx.step(slow, name="slow")

    output, _ = run_to_end(handler, FakeService())
    assert json.loads(output["Result"]) == "gave up"


def test_a_task_group_cancelling_a_running_sibling_fails_the_execution() -> None:
    async def boom(_: StepContext) -> None:
        raise ValueError("no")

    async def slow(_: StepContext) -> None:
        await asyncio.sleep(10)

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(_awaiting(ctx.step(slow, name="slow")))
            group.create_task(_awaiting(ctx.step(boom, name="boom", config=NO_RETRY)))

    output, _ = run_to_end(handler, FakeService())
    kind, message = error_of(output)
    assert kind == "OperationCancelledError" and "'slow'" in message


async def _awaiting(awaitable: Any) -> Any:
    return await awaitable


# -------------------------------------------------------------------- map / parallel


@pytest.mark.parametrize(
    "config",
    [
        MapConfig(max_concurrency=1, completion_config=CompletionConfig(min_successful=2)),
        MapConfig(max_concurrency=2, completion_config=CompletionConfig(tolerated_failure_count=1)),
        MapConfig(completion_config=CompletionConfig.all_completed()),
    ],
    ids=["min-successful", "tolerated-failures", "all-completed"],
)
def test_map_completion_policies_match_the_sync_face(config: MapConfig[int]) -> None:
    def sync_item(ctx: DurableContext, item: int, index: int, items: Any) -> int:
        return ctx.step(_maybe_fail(item), name="work", config=NO_RETRY)

    async def async_item(ctx: AsyncDurableContext, item: int, index: int, items: Any) -> int:
        return await ctx.step(_maybe_fail(item), name="work", config=NO_RETRY)

    @durable_execution
    def sync_handler(event: Any, ctx: DurableContext) -> Any:
        return _summary(ctx.map([1, 2, 3, 4, 5], sync_item, name="m", config=config))

    @durable_execution
    async def async_handler(event: Any, ctx: AsyncDurableContext) -> Any:
        return _summary(await ctx.map([1, 2, 3, 4, 5], async_item, name="m", config=config))

    sync_output, _ = run_to_end(sync_handler, FakeService())
    async_output, _ = run_to_end(async_handler, FakeService())
    assert sync_output["Status"] == "SUCCEEDED"
    assert json.loads(async_output["Result"]) == json.loads(sync_output["Result"])


def _maybe_fail(item: int) -> Callable[[StepContext], int]:
    def body(_: StepContext) -> int:
        if item == 2:
            raise ValueError(f"item {item}")
        return item * 10

    return body


def _summary(result: Any) -> Any:
    return {
        "reason": result.completion_reason.value,
        "items": [(item.index, item.status.value, item.result) for item in result.all],
    }


def test_a_map_too_large_to_checkpoint_replays_its_children() -> None:
    calls: list[int] = []

    async def item_body(ctx: AsyncDurableContext, item: int, index: int, items: Any) -> str:
        calls.append(index)
        return await ctx.step(lambda _: "x" * 100_000, name="big")

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> list[int]:
        result = await ctx.map([0, 1, 2, 3], item_body, name="m", config=MapConfig(max_concurrency=2))
        await ctx.wait(Duration(1))
        return [len(value) for value in result.get_results()]

    service = FakeService()
    output, invocations = run_to_end(handler, service)
    assert invocations == 2
    assert json.loads(output["Result"]) == [100_000] * 4
    batch = next(op for op in service.operations() if op.sub_type == "Map")
    assert batch.context_details is not None and batch.context_details.replay_children


def test_a_parallel_branch_waiting_suspends_then_resumes() -> None:
    async def waits(ctx: AsyncDurableContext) -> str:
        await ctx.wait(Duration(3))
        return "waited"

    async def quick(ctx: AsyncDurableContext) -> str:
        return await ctx.step(lambda _: "quick")

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        return (await ctx.parallel([waits, quick], name="p")).get_results()

    output, invocations = run_to_end(handler, FakeService())
    assert json.loads(output["Result"]) == ["waited", "quick"]
    assert invocations == 2


def test_an_async_branch_on_the_sync_face_fails_naming_the_branch() -> None:
    async def branch(ctx: Any) -> int:
        return 1

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.parallel([branch], name="p").get_results()

    output, _ = run_to_end(handler, FakeService())
    kind, message = error_of(output)
    assert kind == "DurableUsageError" and "parallelbranch 'parallel-branch-0'" in message


def test_cancelling_an_awaited_step_fails_the_execution() -> None:
    started = asyncio.Event()

    async def slow(_: StepContext) -> None:
        started.set()
        await asyncio.sleep(10)

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> str:
        step = ctx.step(slow, name="slow")

        async def cancel_it() -> None:
            await started.wait()
            step.cancel()

        canceller = asyncio.ensure_future(cancel_it())
        try:
            await step
        except asyncio.CancelledError:
            await canceller
            return "cancelled"
        return "finished"

    output, _ = run_to_end(handler, FakeService())
    kind, message = error_of(output)
    assert kind == "OperationCancelledError" and "'slow'" in message


def test_cancelling_a_step_fails_the_execution_even_if_a_wait_then_suspends_it() -> None:
    slow = _sleeping("done", 10)

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> str:
        step = ctx.step(slow, name="slow")
        await asyncio.sleep(0.05)
        step.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await step
        await ctx.wait(Duration(5), name="after")  # the suspension does not hide the cancel
        return "cancelled"

    output, _ = run_to_end(handler, FakeService())
    kind, message = error_of(output)
    assert kind == "OperationCancelledError" and "'slow'" in message


def test_operations_awaited_in_another_order_than_called_all_run() -> None:
    order: list[str] = []

    def body(name: str) -> Callable[[StepContext], Any]:
        async def run(_: StepContext) -> str:
            order.append(name)
            await asyncio.sleep(0)
            return name

        return run

    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> list[str]:
        first, second = ctx.step(body("a"), name="a"), ctx.step(body("b"), name="b")
        later = await second
        return [await first, later]

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert json.loads(output["Result"]) == ["a", "b"] and order == ["a", "b"]
    assert [u.name for u in service.updates() if u.action.value == "START"] == ["a", "b"]


def test_the_async_face_loads_with_an_async_handler_not_with_import_perdure() -> None:
    """`import perdure` loads neither asyncio nor the async face (cold start); decorating an
    async handler loads them (in Lambda's init phase), so its first invocation does not."""
    import subprocess
    import sys

    script = (
        "import sys, perdure\n"
        "loaded = lambda: ('asyncio' in sys.modules, 'perdure.sdk.aio' in sys.modules)\n"
        "print(loaded())\n"
        "perdure.durable_execution(lambda event, ctx: 1)\n"
        "print(loaded())\n"
        "async def handler(event, ctx): return 1\n"
        "perdure.durable_execution(handler)\n"
        "print(loaded())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:3] == ["(False, False)", "(False, False)", "(True, True)"]
