"""perdure.sdk.concurrency: admission, in-flight bounds, short-circuit, resume waves, threads.

docs/parallel-and-map.md lists where perdure differs from the .NET SDK (no cancellation
token in Python).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import pytest

from perdure.sdk import concurrency
from perdure.sdk.completion import (
    CompletionConfig,
    CompletionOutcome,
    CompletionStatus,
    MapConfig,
    NestingType,
    ParallelConfig,
    complete_batch,
    continue_batch,
)
from perdure.sdk.config import Duration, StepConfig
from perdure.sdk.context import DurableContext
from perdure.sdk.errors import NonDeterministicExecutionError, RetryableSerDesError
from perdure.sdk.execution import durable_execution
from perdure.sdk.ids import operation_id
from perdure.sdk.retries import RetryDecision
from perdure.sdk.state import ExecutionState
from perdure.wire.types import OperationAction, OperationStatus

from .batch_support import RefreshingService
from .fakes import FakeService, run_body, run_to_end

P = operation_id(None, 1)


class PastClock:
    """Five seconds behind: a timer the SDK schedules is due by the time it suspends."""

    def time(self) -> float:
        return time.time() - 5

    def monotonic(self) -> float:
        return time.monotonic()


def _branch_starts(service: FakeService) -> list[str]:
    return [
        u.id
        for u in service.updates()
        if u.sub_type == "ParallelBranch" and u.action is OperationAction.START
    ]


def test_max_concurrency_bounds_running_branches() -> None:
    lock = threading.Lock()
    active = [0]
    peak = [0]

    def branch(ctx: DurableContext) -> int:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01)
        with lock:
            active[0] -= 1
        return 1

    output, _, _ = run_body(
        lambda ctx: sum(ctx.parallel([branch] * 12, config=ParallelConfig(3)).get_results())
    )
    assert output["Result"] == "12" and 1 < peak[0] <= 3


def test_suspended_branches_keep_their_slot() -> None:
    """max_concurrency counts branches suspended on a wait (official §6.1)."""
    first_invocation: list[int] = []

    def waits(ctx: DurableContext) -> str:
        ctx.wait(Duration(60))
        return "w"

    def instant(ctx: DurableContext) -> str:
        return "i"

    service = FakeService()
    handler = durable_execution(
        lambda event, ctx: ctx.parallel(
            [waits, waits, instant, instant], config=ParallelConfig(2)
        ).get_results()
    )
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    first_invocation.extend(range(len(_branch_starts(service))))
    assert _branch_starts(service) == [operation_id(P, 0), operation_id(P, 1)]
    service.advance()
    output = handler(service.invocation(), None)
    assert output["Result"] == '["w", "w", "i", "i"]'
    assert len(_branch_starts(service)) == 4


def test_short_circuit_reports_running_branches_started_and_never_abandons_them() -> None:
    """the batch completes at min_successful; the slow branch is STARTED,
    keeps running, is refused its checkpoint (orphaned) and is joined before the
    invocation returns."""
    release = threading.Event()
    finished = threading.Event()

    def slow(ctx: DurableContext) -> str:
        try:
            release.wait(5)
            return ctx.step(lambda _: "late")
        finally:
            finished.set()

    def fast(ctx: DurableContext) -> str:
        return "fast"

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [slow, fast, fast], config=ParallelConfig(2, CompletionConfig(min_successful=1))
        )
        release.set()
        return [result.completion_reason.value, [i.status.value for i in result.all]]

    output, service, _ = run_body(body)
    assert finished.is_set()
    assert json.loads(output["Result"]) == ["MIN_SUCCESSFUL_REACHED", ["STARTED", "SUCCEEDED"]]
    slow_id = operation_id(P, 0)
    assert service.ops[slow_id].status is OperationStatus.STARTED
    assert not [u for u in service.updates() if u.parent_id == slow_id]  # its step was refused
    assert operation_id(P, 2) not in service.ops  # never admitted


def test_custom_predicate_can_complete_before_any_branch() -> None:
    calls: list[CompletionStatus] = []

    def stop(status: CompletionStatus) -> Any:
        calls.append(status)
        return complete_batch(CompletionOutcome.FAILED)

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [lambda c: 1, lambda c: 2],
            config=ParallelConfig(completion_config=CompletionConfig(should_complete=stop)),
        )
        return [result.completion_reason.value, result.total_count]

    output, service, _ = run_body(body)
    assert json.loads(output["Result"]) == ["CUSTOM_COMPLETION_FAILED", 0]
    assert len(calls) == 1 and calls[0].completed_count == 0
    assert service.actions() == [("CONTEXT", "START"), ("CONTEXT", "SUCCEED")]


def test_custom_predicate_sees_every_change() -> None:
    seen: list[tuple[int, int]] = []

    def after_two(status: CompletionStatus) -> Any:
        seen.append((status.success_count, status.completed_count))
        return complete_batch() if status.success_count >= 2 else continue_batch()

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [lambda c, i=i: i for i in range(4)],
            config=ParallelConfig(1, CompletionConfig(should_complete=after_two)),
        )
        return [result.completion_reason.value, result.total_count]

    output, _, _ = run_body(body)
    assert json.loads(output["Result"]) == ["CUSTOM_COMPLETION_SUCCEEDED", 2]
    assert seen[0] == (0, 0) and seen[-1] == (2, 2)


def test_non_determinism_in_a_branch_fails_the_execution() -> None:
    """an ExecutionError escapes the policy; ordinary errors are items."""

    def bad(ctx: DurableContext) -> str:
        raise NonDeterministicExecutionError("changed", step_id="x")

    def fine(ctx: DurableContext) -> str:
        raise ValueError("an ordinary failure")

    output, _, _ = run_body(
        lambda ctx: ctx.parallel([fine, bad], config=ParallelConfig(1, CompletionConfig.all_completed()))
    )
    assert output["Status"] == "FAILED"
    assert output["Error"]["ErrorType"] == "perdure.sdk.errors.NonDeterministicExecutionError"


def test_retryable_branch_error_retries_the_invocation() -> None:
    def bad(ctx: DurableContext) -> str:
        raise RetryableSerDesError("try again")

    handler = durable_execution(lambda event, ctx: ctx.parallel([bad]))
    with pytest.raises(RetryableSerDesError):
        handler(FakeService().invocation(), None)


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


class _NoJson(Exception):
    """Carries values JSON cannot represent."""

    def __init__(self) -> None:
        super().__init__({1, 2}, _Opaque(), b"\xff")


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("cannot print")


@pytest.mark.parametrize("nesting", [NestingType.NESTED, NestingType.FLAT])
def test_branch_failing_with_a_non_json_exception(nesting: NestingType) -> None:
    def raises(error: Exception) -> Any:
        def branch(ctx: DurableContext) -> Any:
            raise error

        return branch

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [raises(_NoJson()), raises(_Unprintable())],
            config=ParallelConfig(1, CompletionConfig.all_completed(), nesting_type=nesting),
        )
        ctx.wait(Duration(1))
        return [[i.status.value, i.error.error_type, i.error.error_message] for i in result.all]  # type: ignore[union-attr]

    output, _, invocations = run_body(body)
    assert output["Status"] == "SUCCEEDED" and invocations == 2
    (no_json, unprintable) = json.loads(output["Result"])
    assert no_json[0] == "FAILED" and no_json[1].endswith("_NoJson") and "<opaque>" in no_json[2]
    assert unprintable == ["FAILED", f"{__name__}._Unprintable", "<unprintable _Unprintable>"]


def _count_refreshes(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    calls: list[None] = []
    original = ExecutionState.create_checkpoint

    def counting(self: ExecutionState, update: Any = None, *, is_sync: bool = True) -> None:
        if update is None:
            calls.append(None)
        original(self, update, is_sync=is_sync)

    monkeypatch.setattr(ExecutionState, "create_checkpoint", counting)
    return calls


def test_in_process_resume_wave(monkeypatch: pytest.MonkeyPatch) -> None:
    """A branch suspended on a short timer resumes in the same invocation while another
    branch still runs: one refresh, no second invocation."""

    # Timers come due at once (the wait's time has passed when the branch suspends).
    service = RefreshingService()
    service.clock = PastClock()
    resumed = threading.Event()

    def waits(ctx: DurableContext) -> str:
        ctx.wait(Duration(1))
        resumed.set()
        return "waited"

    def busy(ctx: DurableContext) -> str:
        return ctx.step(lambda _: "busy" if resumed.wait(5) else "timeout")

    refreshes = _count_refreshes(monkeypatch)
    output, _service, invocations = run_body(
        lambda ctx: ctx.parallel([waits, busy], config=ParallelConfig(2)).get_results(), service
    )
    assert output["Result"] == '["waited", "busy"]' and invocations == 1
    assert len(refreshes) >= 1


def test_resume_wave_backs_off_when_the_service_has_not_fired(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh that does not show the timer fired does not spin: bounded refreshes."""
    service = RefreshingService()
    service.clock = PastClock()
    service.fire_on_refresh = False

    def waits(ctx: DurableContext) -> str:
        ctx.wait(Duration(1))
        return "waited"

    def busy(ctx: DurableContext) -> str:
        time.sleep(0.3)
        return "busy"

    refreshes = _count_refreshes(monkeypatch)
    output, service, invocations = run_body(
        lambda ctx: ctx.parallel([waits, busy], config=ParallelConfig(2)).get_results(), service
    )
    assert output["Result"] == '["waited", "busy"]' and invocations == 2
    assert 1 <= len(refreshes) <= 2  # the second stall backs off 1 s: the batch suspends first


def test_branch_retry_resumes_in_a_later_invocation() -> None:
    """A step retry inside a branch suspends the batch; the retry runs on the next invocation."""
    attempts: list[int] = []

    def flaky(ctx: DurableContext) -> str:
        def step(step_ctx: Any) -> str:
            attempts.append(step_ctx.attempt)
            if step_ctx.attempt == 1:
                raise ValueError("transient")
            return "ok"

        return ctx.step(step, config=StepConfig(retry_strategy=lambda e, n: RetryDecision.retry(Duration(1))))

    output, _, invocations = run_body(lambda ctx: ctx.map([1], lambda c, *a: flaky(c)).get_results())
    assert output["Result"] == '["ok"]' and attempts == [1, 2] and invocations >= 2


def test_stress_200_branches_of_20_steps() -> None:
    """Identical operation ids across runs; every checkpoint exactly once, none lost."""

    def branch(i: int) -> Any:
        def run(ctx: DurableContext) -> int:
            return sum(ctx.step(lambda _, j=j: i * 100 + j) for j in range(20))

        return run

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel([branch(i) for i in range(200)], config=ParallelConfig(16))
        return sum(result.get_results())

    runs = []
    for _ in range(2):
        output, service, _ = run_body(body)
        expected = sum(i * 100 * 20 + sum(range(20)) for i in range(200))
        assert output["Result"] == str(expected)
        updates = service.updates()
        assert len(updates) == 2 + 200 * 2 + 200 * 20 * 2
        per_op = Counter((u.id, u.action.value) for u in updates)
        assert set(per_op.values()) == {1}
        assert all(op.status is OperationStatus.SUCCEEDED for op in service.operations()[1:])
        runs.append(sorted({u.id for u in updates}))
    assert runs[0] == runs[1]
    assert len(runs[0]) == 1 + 200 + 200 * 20


def test_map_flat_stress_ids_stable() -> None:
    def body(ctx: DurableContext) -> Any:
        result = ctx.map(
            list(range(50)),
            lambda c, item, i, items: [c.step(lambda _: item) for _ in range(3)],
            config=MapConfig(max_concurrency=8, nesting_type=NestingType.FLAT),
        )
        return len(result.get_results())

    ids = []
    for _ in range(2):
        _, service, _ = run_body(body)
        ids.append(sorted(u.id for u in service.updates()))
    assert ids[0] == ids[1]


def test_thread_cap_bounds_admission(monkeypatch: pytest.MonkeyPatch) -> None:
    """With unbounded concurrency at most MAX_BRANCH_THREADS branches run at once."""
    monkeypatch.setattr(concurrency, "MAX_BRANCH_THREADS", 4)
    lock = threading.Lock()
    active = [0]
    peak = [0]

    def branch(ctx: DurableContext) -> int:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.005)
        with lock:
            active[0] -= 1
        return 1

    output, _, _ = run_body(lambda ctx: sum(ctx.parallel([branch] * 20).get_results()))
    assert output["Result"] == "20" and peak[0] <= 4


def test_branches_see_the_callers_context_variables() -> None:
    import contextvars

    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")

    def branch(ctx: DurableContext) -> str:
        seen = request_id.get()
        request_id.set("changed by a branch")  # must not leak into siblings
        return seen

    def body(ctx: DurableContext) -> Any:
        request_id.set("r-1")
        return ctx.parallel([branch] * 4, config=ParallelConfig(2)).get_results()

    output, _, _ = run_body(body)
    assert output["Result"] == '["r-1", "r-1", "r-1", "r-1"]'


def test_a_nested_batch_suspension_joins_the_outer_resume_wave(monkeypatch: pytest.MonkeyPatch) -> None:
    """An inner parallel whose only branch waits suspends its outer branch until a time;
    the outer batch resumes it in-process while its other branch still runs."""
    service = RefreshingService()
    service.clock = PastClock()
    resumed = threading.Event()

    def waits(ctx: DurableContext) -> str:
        ctx.wait(Duration(1))
        resumed.set()
        return "inner"

    def outer_branch(ctx: DurableContext) -> list[str]:
        return ctx.parallel([waits], name="inner").get_results()

    def busy(ctx: DurableContext) -> str:
        return ctx.step(lambda _: "busy" if resumed.wait(5) else "timeout")

    output, _, invocations = run_body(
        lambda ctx: ctx.parallel([outer_branch, busy], config=ParallelConfig(2)).get_results(),
        service,
    )
    assert output["Result"] == '[["inner"], "busy"]' and invocations == 1


def test_branch_terminal_updates_are_async_and_sent_before_the_batch_succeed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docs/concurrency.md, "Why a branch's SUCCEED/FAIL is async": a branch's SUCCEED and
    FAIL do not wait, the step's SUCCEED and the batch's SUCCEED do, and every branch
    outcome rides in the batch's request or an earlier one."""
    from perdure.sdk.batcher import CheckpointBatcher

    calls: list[tuple[str | None, OperationAction, bool]] = []
    original = CheckpointBatcher.checkpoint

    def record(self: CheckpointBatcher, update: Any, *, sync: bool) -> None:
        if update is not None and update.action is not OperationAction.START:
            calls.append((update.sub_type, update.action, sync))
        original(self, update, sync=sync)

    monkeypatch.setattr(CheckpointBatcher, "checkpoint", record)

    def item(ctx: DurableContext, value: int, index: int, items: Any) -> int:
        doubled = int(ctx.step(lambda _: value * 2))
        if value % 5 == 4:
            raise ValueError(f"item {value}")
        return doubled

    def body(ctx: DurableContext) -> Any:
        result = ctx.map(list(range(20)), item, config=MapConfig(4, CompletionConfig.all_completed()))
        return [result.get_results(), len(result.get_errors())]

    output, service, _ = run_body(body)
    assert json.loads(output["Result"]) == [[v * 2 for v in range(20) if v % 5 != 4], 4]
    kinds = Counter(calls)
    assert kinds[("MapIteration", OperationAction.SUCCEED, False)] == 16
    assert kinds[("MapIteration", OperationAction.FAIL, False)] == 4
    assert kinds[("Step", OperationAction.SUCCEED, True)] == 20
    assert kinds[("Map", OperationAction.SUCCEED, True)] == 1
    assert not any(sub == "MapIteration" and sync for sub, _, sync in calls)
    where = {
        (u.sub_type, u.id, u.action): n for n, request in enumerate(service.requests) for u in request.updates
    }
    batch_request = where[("Map", P, OperationAction.SUCCEED)]
    branch_requests = [
        n
        for (sub, _, action), n in where.items()
        if sub == "MapIteration" and action is not OperationAction.START
    ]
    assert len(branch_requests) == 20
    assert max(branch_requests) <= batch_request


def test_lost_branch_updates_replay_to_the_same_outcome() -> None:
    """The request carrying the last branches' SUCCEED/FAIL and the batch's SUCCEED fails
    (a retryable error: the invocation is retried). The retried invocation re-runs the
    unfinished branches over their step records (no step body runs twice) and records the
    same result."""
    from perdure.sdk.errors import CheckpointError
    from perdure.wire.errors import INVALID_CHECKPOINT_TOKEN, InvalidParameterValueError

    class LosesTheBatchSucceed(FakeService):
        lost = False
        lost_branches = 0

        def checkpoint_durable_execution(self, request: Any) -> Any:
            if not self.lost and any(
                u.sub_type == "Map" and u.action is OperationAction.SUCCEED for u in request.updates
            ):
                self.lost = True
                self.lost_branches = sum(u.sub_type == "MapIteration" for u in request.updates)
                raise InvalidParameterValueError(f"{INVALID_CHECKPOINT_TOKEN}: lost")
            return super().checkpoint_durable_execution(request)

    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def item(ctx: DurableContext, value: int, index: int, items: Any) -> int:
        def work(_: Any) -> int:
            with lock:
                runs[value] += 1
            return value * 3

        doubled = int(ctx.step(work))
        if value == 7:
            raise ValueError("seven")
        return doubled

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        result = ctx.map(list(range(12)), item, config=MapConfig(3, CompletionConfig.all_completed()))
        return [result.get_results(), [e.error_message if e else None for e in result.get_errors()]]

    service = LosesTheBatchSucceed()
    with pytest.raises(CheckpointError):
        handler(service.invocation(), None)
    assert service.lost and service.lost_branches > 0
    output, _ = run_to_end(handler, service)
    assert json.loads(output["Result"]) == [[v * 3 for v in range(12) if v != 7], ["seven"]]
    assert set(runs.values()) == {1}, runs
    batch_succeeds = [u for u in service.updates() if u.id == P and u.action is OperationAction.SUCCEED]
    assert len(batch_succeeds) == 1


def test_a_fault_of_a_worker_itself_reaches_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that breaks outside any branch (here while settling the third outcome) makes
    map raise that error: the coordinator does not wait for a worker that is gone."""
    original = concurrency.RunState.settle_and_admit
    calls = Counter[str]()

    def settle_and_admit(self: Any, event: Any) -> int | None:
        calls["settled"] += 1
        if calls["settled"] == 3:
            raise RuntimeError("the executor broke (injected)")
        return original(self, event)

    monkeypatch.setattr(concurrency.RunState, "settle_and_admit", settle_and_admit)
    outcome: list[Any] = []

    def run() -> None:
        outcome.append(
            run_body(
                lambda ctx: ctx.map(list(range(8)), lambda c, item, i, items: item, config=MapConfig(2))
            )[0]
        )

    caller = threading.Thread(target=run, daemon=True)
    caller.start()
    caller.join(10)
    assert not caller.is_alive(), "map waits for a worker that is gone"
    assert outcome[0]["Status"] == "FAILED" and "the executor broke" in json.dumps(outcome[0]["Error"])


def test_nested_maps_deeper_than_the_thread_budget_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process budget of two slots, maps nested three deep with four items each: every
    thread that waits on its nested map lends its slot, so the leaves still get slots."""
    from perdure.sdk import threads

    budget = threads.ThreadBudget(2)
    monkeypatch.setattr(concurrency, "BUDGET", budget)
    running = 0
    most = 0
    lock = threading.Lock()

    def leaf(_: Any) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.001)
        with lock:
            running -= 1
        return 1

    def level(depth: int) -> Any:
        def body(ctx: DurableContext, item: int, index: int, items: Any) -> int:
            if depth == 0:
                return ctx.step(leaf)
            return sum(ctx.map([1, 2, 3, 4], level(depth - 1)).get_results())

        return body

    output, _, _ = run_body(lambda ctx: sum(ctx.map([1, 2, 3, 4], level(2)).get_results()))
    assert json.loads(output["Result"]) == 64
    assert budget.free == 2  # every slot came back
    assert most <= 4  # two slots, plus at most a lent slot taken back by each waiting level
