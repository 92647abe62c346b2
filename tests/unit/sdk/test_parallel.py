"""DurableContext.parallel through a handler and the fake service.

Where perdure differs from the .NET SDK's parallel, docs/parallel-and-map.md lists why.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from perdure.sdk.batch import BatchResult
from perdure.sdk.completion import (
    BatchItemStatus,
    CompletionConfig,
    CompletionReason,
    NestingType,
    ParallelBranch,
    ParallelConfig,
    durable_parallel_branch,
)
from perdure.sdk.config import Duration
from perdure.sdk.context import DurableContext
from perdure.sdk.errors import ChildContextError, ValidationError
from perdure.sdk.execution import durable_execution
from perdure.sdk.ids import operation_id
from perdure.wire.types import OperationStatus

from .batch_support import DroppingService
from .fakes import FakeService, run_body

P = operation_id(None, 1)
S, F, ST = BatchItemStatus.SUCCEEDED, BatchItemStatus.FAILED, BatchItemStatus.STARTED
ONE = ParallelConfig(max_concurrency=1)


def _boom(message: str) -> Any:
    def branch(ctx: DurableContext) -> Any:
        raise ValueError(message)

    return branch


def _const(value: Any) -> Any:
    return lambda ctx: value


# ---------------------------------------------------------------- fresh runs


def test_results_in_index_order_and_the_history() -> None:
    """parent START first; a START/SUCCEED per branch, sub-type ParallelBranch."""
    seen: list[BatchResult[Any]] = []

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [lambda c: c.step(lambda _: "task-1"), lambda c: c.step(lambda _: "task-2")],
            name="parallel",
            config=ONE,
        )
        seen.append(result)
        return result.get_results()

    output, service, _ = run_body(body)
    assert output["Result"] == '["task-1", "task-2"]'
    updates = service.updates()
    assert [(u.type.value, u.action.value, u.sub_type) for u in updates] == [
        ("CONTEXT", "START", "Parallel"),
        ("CONTEXT", "START", "ParallelBranch"),
        ("STEP", "START", "Step"),
        ("STEP", "SUCCEED", "Step"),
        ("CONTEXT", "SUCCEED", "ParallelBranch"),
        ("CONTEXT", "START", "ParallelBranch"),
        ("STEP", "START", "Step"),
        ("STEP", "SUCCEED", "Step"),
        ("CONTEXT", "SUCCEED", "ParallelBranch"),
        ("CONTEXT", "SUCCEED", "Parallel"),
    ]
    assert updates[0].id == P and updates[0].name == "parallel" and updates[0].parent_id is None
    b0, b1 = operation_id(P, 0), operation_id(P, 1)
    assert (updates[1].id, updates[1].parent_id, updates[1].name) == (b0, P, "parallel-branch-0")
    assert (updates[5].id, updates[5].parent_id, updates[5].name) == (b1, P, "parallel-branch-1")
    assert updates[2].id == operation_id(b0, 1) and updates[2].parent_id == b0
    (result,) = seen
    assert [i.name for i in result.all] == ["parallel-branch-0", "parallel-branch-1"]
    assert result.completion_reason is CompletionReason.ALL_COMPLETED


def test_out_of_order_completion_keeps_index_order() -> None:
    """`all` and the views are in index order whatever order branches finish in."""
    import threading

    second_done = threading.Event()

    def slow(ctx: DurableContext) -> str:
        second_done.wait(5)
        return "first"

    def fast(ctx: DurableContext) -> str:
        second_done.set()
        return "second"

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel([slow, fast], config=ParallelConfig(max_concurrency=2))
        return [result.get_results(), [i.index for i in result.all]]

    output, service, _ = run_body(body)
    assert output["Result"] == '[["first", "second"], [0, 1]]'
    succeeds = [
        u.id for u in service.updates() if u.sub_type == "ParallelBranch" and u.action.value == "SUCCEED"
    ]
    assert succeeds == [operation_id(P, 1), operation_id(P, 0)]


def test_branch_ids_are_stable_across_fresh_runs() -> None:
    """ids derive from the batch id and the index (0-based), identical across runs."""

    def body(ctx: DurableContext) -> Any:
        return ctx.parallel(
            [_const(i) for i in range(5)], config=ParallelConfig(max_concurrency=3)
        ).get_results()

    ids = []
    for _ in range(2):
        _, service, _ = run_body(body)
        ids.append(sorted(u.id for u in service.updates()))
    assert ids[0] == ids[1]
    assert set(ids[0]) == {P} | {operation_id(P, i) for i in range(5)}


def test_named_branches() -> None:
    """ParallelBranch.name and durable_parallel_branch name the branch operation."""

    @durable_parallel_branch(name="second")
    def second(ctx: DurableContext, value: str) -> str:
        return value

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [ParallelBranch(_const("one"), name="first"), second("two"), _const("three")], name="named"
        )
        return [[i.name for i in result.all], result.get_results()]

    output, service, _ = run_body(body)
    assert output["Result"] == '[["first", "second", "parallel-branch-2"], ["one", "two", "three"]]'
    names = [
        u.name for u in service.updates() if u.sub_type == "ParallelBranch" and u.action.value == "START"
    ]
    assert sorted(names) == ["first", "parallel-branch-2", "second"]


def test_empty_parallel_still_records_the_batch() -> None:
    """8-5: no branch, ALL_COMPLETED, total 0, parent START and SUCCEED."""
    seen: list[BatchResult[Any]] = []

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel([], name="empty")
        seen.append(result)
        return result.get_results()

    output, service, _ = run_body(body)
    assert output["Result"] == "[]"
    assert service.actions() == [("CONTEXT", "START"), ("CONTEXT", "SUCCEED")]
    assert seen[0].completion_reason is CompletionReason.ALL_COMPLETED and seen[0].total_count == 0


def test_single_branch() -> None:
    output, _, _ = run_body(lambda ctx: ctx.parallel([_const({"k": "v"})]).get_results())
    assert output["Result"] == '[{"k": "v"}]'


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("functions", "config", "message"),
    [
        ([_const(1), "not a function"], None, "parallel branch 1 must be callable"),
        ([ParallelBranch(42)], None, "parallel branch 0 must be callable"),  # type: ignore[arg-type]
        ([_const(1)], ParallelConfig(completion_config=CompletionConfig(min_successful=2)), "2 > 1"),
        ([ParallelBranch(_const(1), name="x" * 300)], None, "parallel branch 0 name must be at most"),
    ],
)
def test_invalid_input_fails_before_any_checkpoint(functions: Any, config: Any, message: str) -> None:
    output, service, _ = run_body(lambda ctx: ctx.parallel(functions, config=config))
    assert output["Status"] == "FAILED"
    assert message in output["Error"]["ErrorMessage"]
    assert output["Error"]["ErrorType"] == "perdure.sdk.errors.ValidationError"
    assert service.updates() == []


def test_max_concurrency_below_one_is_rejected_when_configured() -> None:
    """8-19."""
    with pytest.raises(ValidationError, match="max_concurrency must be at least 1"):
        ParallelConfig(max_concurrency=0)


# ------------------------------------------------------------ completion matrix


def _projection(result: BatchResult[Any]) -> dict[str, Any]:
    return {
        "reason": result.completion_reason.value,
        "status": result.status.value,
        "statuses": [i.status.value for i in result.all],
    }


@pytest.mark.parametrize(
    ("completion", "branches", "reason", "statuses"),
    [
        # 8-6: fail fast (the default), the parent still SUCCEEDs; branch 2 never runs
        (None, ["ok", "boom", "ok"], "FAILURE_TOLERANCE_EXCEEDED", ["SUCCEEDED", "FAILED"]),
        # 8-9: one failure tolerated
        (
            CompletionConfig(tolerated_failure_count=1),
            ["ok", "boom", "ok"],
            "ALL_COMPLETED",
            ["SUCCEEDED", "FAILED", "SUCCEEDED"],
        ),
        # 8-10: count + 1 exceeds
        (
            CompletionConfig(tolerated_failure_count=1),
            ["boom", "boom", "ok"],
            "FAILURE_TOLERANCE_EXCEEDED",
            ["FAILED", "FAILED"],
        ),
        # 8-13, 8-22: percentage, strict
        (
            CompletionConfig(tolerated_failure_percentage=25),
            ["boom", "boom", "ok", "ok"],
            "FAILURE_TOLERANCE_EXCEEDED",
            ["FAILED", "FAILED"],
        ),
        (
            CompletionConfig(tolerated_failure_percentage=25),
            ["boom", "ok", "ok", "ok"],
            "ALL_COMPLETED",
            ["FAILED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"],
        ),
        # 8-8: min successful; undispatched branches are left out
        (
            CompletionConfig(min_successful=2),
            ["ok", "ok", "ok", "ok"],
            "MIN_SUCCESSFUL_REACHED",
            ["SUCCEEDED", "SUCCEEDED"],
        ),
        # 8-17: min successful not reached
        (
            CompletionConfig(min_successful=3),
            ["ok", "boom", "ok"],
            "ALL_COMPLETED",
            ["SUCCEEDED", "FAILED", "SUCCEEDED"],
        ),
        # 8-18: tolerance is checked before min successful
        (
            CompletionConfig(min_successful=3, tolerated_failure_count=1),
            ["boom", "boom", "ok", "ok"],
            "FAILURE_TOLERANCE_EXCEEDED",
            ["FAILED", "FAILED"],
        ),
        # first_successful with every branch failing
        (
            CompletionConfig.first_successful(),
            ["boom", "boom", "boom"],
            "ALL_COMPLETED",
            ["FAILED", "FAILED", "FAILED"],
        ),
        # all_completed never exceeds the tolerance
        (CompletionConfig.all_completed(), ["boom", "boom"], "ALL_COMPLETED", ["FAILED", "FAILED"]),
    ],
)
def test_completion_matrix(completion: Any, branches: list[str], reason: str, statuses: list[str]) -> None:
    functions = [_boom(f"b{i}") if kind == "boom" else _const(f"r{i}") for i, kind in enumerate(branches)]
    config = ParallelConfig(max_concurrency=1) if completion is None else ParallelConfig(1, completion)

    def body(ctx: DurableContext) -> Any:
        return _projection(ctx.parallel(functions, name="matrix", config=config))

    output, service, _ = run_body(body)
    assert output["Status"] == "SUCCEEDED"
    import json

    result = json.loads(output["Result"])
    assert result["reason"] == reason and result["statuses"] == statuses
    parent = service.ops[P]
    assert parent.status is OperationStatus.SUCCEEDED
    branch_contexts = [
        u for u in service.updates() if u.sub_type == "ParallelBranch" and u.action.value == "START"
    ]
    assert len(branch_contexts) == len(statuses)


def test_neither_raises_but_throw_if_error_does() -> None:
    """8-7: the first failed branch's error, with the inner error type."""

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [_const("ok"), _boom("first"), _boom("second")],
            config=ParallelConfig(1, CompletionConfig.all_completed()),
        )
        assert result.get_results() == ["ok"]
        assert [e.error_message for e in result.get_errors() if e] == ["first", "second"]
        assert result.get_errors()[0].error_type == "ValueError"  # type: ignore[union-attr]
        assert (result.success_count, result.failure_count, result.total_count) == (1, 2, 3)
        result.throw_if_error()

    output, service, _ = run_body(body)
    assert output["Status"] == "FAILED"
    assert output["Error"]["ErrorMessage"] == "first"
    assert output["Error"]["ErrorType"] == "perdure.sdk.errors.ChildContextError"
    fails = [u for u in service.updates() if u.action.value == "FAIL"]
    assert [u.error.error_type for u in fails] == ["ValueError", "ValueError"]  # type: ignore[union-attr]


# ---------------------------------------------------------------------- FLAT


def test_flat_writes_no_branch_contexts() -> None:
    """8-12: inner operations parented to the batch, ids from the branch id."""

    def body(ctx: DurableContext) -> Any:
        return ctx.parallel(
            [lambda c: c.step(lambda _: "fa"), lambda c: c.step(lambda _: "fb")],
            name="flat",
            config=ParallelConfig(max_concurrency=1, nesting_type=NestingType.FLAT),
        ).get_results()

    output, service, _ = run_body(body)
    assert output["Result"] == '["fa", "fb"]'
    updates = service.updates()
    assert [(u.type.value, u.action.value) for u in updates] == [
        ("CONTEXT", "START"),
        ("STEP", "START"),
        ("STEP", "SUCCEED"),
        ("STEP", "START"),
        ("STEP", "SUCCEED"),
        ("CONTEXT", "SUCCEED"),
    ]
    assert {u.parent_id for u in updates[1:5]} == {P}
    assert updates[1].id == operation_id(operation_id(P, 0), 1)
    assert updates[3].id == operation_id(operation_id(P, 1), 1)


def test_flat_failure_is_an_item_without_a_fail_checkpoint() -> None:
    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [_boom("flat boom"), _const(2)],
            config=ParallelConfig(1, CompletionConfig.all_completed(), nesting_type=NestingType.FLAT),
        )
        return [i.status.value for i in result.all] + [result.all[0].error.error_message]  # type: ignore[union-attr]

    output, service, _ = run_body(body)
    assert output["Result"] == '["FAILED", "SUCCEEDED", "flat boom"]'
    assert service.actions() == [("CONTEXT", "START"), ("CONTEXT", "SUCCEED")]


# -------------------------------------------------------------------- replay


def test_completed_parallel_replays_without_running_branches() -> None:
    """9-17/9-18: the recorded result, no branch body, no new checkpoint."""
    runs: list[int] = []

    def branch(i: int) -> Any:
        def run(ctx: DurableContext) -> Any:
            runs.append(i)
            if i == 1:
                raise KeyError("k")
            return ctx.step(lambda _: f"r{i}")

        return run

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [branch(0), branch(1)], config=ParallelConfig(1, CompletionConfig(tolerated_failure_count=1))
        )
        ctx.wait(Duration(1))
        return [result.get_results(), result.failed()[0].error.error_type, result.completion_reason.value]  # type: ignore[union-attr]

    for service in (FakeService(), DroppingService()):
        runs.clear()
        output, service, invocations = run_body(body, service)
        assert invocations == 2 and runs == [0, 1]
        assert output["Result"] == '[["r0"], "KeyError", "ALL_COMPLETED"]'
        assert [a for a in service.actions() if a[0] == "CONTEXT"].count(("CONTEXT", "SUCCEED")) == 2


def test_flat_completed_parallel_survives_dropped_children() -> None:
    """after a later resume the service no longer returns the batch's children."""

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [lambda c: c.step(lambda _: "a"), lambda c: c.step(lambda _: "b")],
            config=ParallelConfig(nesting_type=NestingType.FLAT),
        )
        ctx.wait(Duration(1))
        ctx.wait(Duration(1))
        return result.get_results()

    output, _, invocations = run_body(body, DroppingService())
    assert output["Result"] == '["a", "b"]' and invocations == 3


def test_interrupted_parallel_resumes() -> None:
    """8-14: finished branches return their records; START is not sent again."""
    runs: list[int] = []

    def b0(ctx: DurableContext) -> str:
        runs.append(0)
        return ctx.step(lambda _: "b0")

    def b1(ctx: DurableContext) -> str:
        runs.append(1)
        ctx.wait(Duration(2))
        return "b1"

    output, service, invocations = run_body(
        lambda ctx: ctx.parallel([b0, b1], name="replay", config=ONE).get_results()
    )
    assert output["Result"] == '["b0", "b1"]' and invocations == 2
    # b0 ran once; b1 re-ran to resume (the fake's timer is already past, so the first
    # suspension is retried in-process once before the execution suspends).
    assert runs.count(0) == 1 and runs[:2] == [0, 1]
    starts = [u for u in service.updates() if u.sub_type == "Parallel"]
    assert [u.action.value for u in starts] == ["START", "SUCCEED"]


def test_every_branch_suspended_suspends_the_execution() -> None:
    """the batch suspends only when no branch is running."""
    import threading

    finished = threading.Event()

    def waits(ctx: DurableContext) -> str:
        ctx.wait(Duration(5))
        return "w"

    def works(ctx: DurableContext) -> str:
        value = ctx.step(lambda _: "s")
        finished.set()
        return value

    output, _service, invocations = run_body(
        lambda ctx: ctx.parallel([waits, works], config=ParallelConfig(2)).get_results()
    )
    assert finished.is_set() and invocations == 2
    assert output["Result"] == '["w", "s"]'


def test_parent_identity_change_is_non_deterministic() -> None:
    """the batch's own record is identity-checked before anything else."""
    service = FakeService()

    @durable_execution
    def first(event: Any, ctx: DurableContext) -> Any:
        ctx.parallel([_const(1)], name="a")
        ctx.wait(Duration(1))

    @durable_execution
    def second(event: Any, ctx: DurableContext) -> Any:
        ctx.parallel([_const(1)], name="b")

    assert first(service.invocation(), None)["Status"] == "PENDING"
    output = second(service.invocation(), None)
    assert output["Status"] == "FAILED"
    assert "name checkpoint='a' current='b'" in output["Error"]["ErrorMessage"]


def _interrupted(body_first: Any, body_second: Any) -> dict[str, Any]:
    service = FakeService()
    first = durable_execution(lambda event, ctx: body_first(ctx))
    second = durable_execution(lambda event, ctx: body_second(ctx))
    assert first(service.invocation(), None)["Status"] == "PENDING"
    service.advance()
    return second(service.invocation(), None)


def _wait_branch(ctx: DurableContext) -> str:
    ctx.wait(Duration(1))
    return "w"


def test_renamed_branch_is_non_deterministic() -> None:
    """naming the index and the operation."""
    output = _interrupted(
        lambda ctx: ctx.parallel([ParallelBranch(_wait_branch, name="old")], name="p"),
        lambda ctx: ctx.parallel([ParallelBranch(_wait_branch, name="new")], name="p"),
    )
    assert output["Status"] == "FAILED"
    message = output["Error"]["ErrorMessage"]
    assert "branch 0 of parallel 'p'" in message and "'old'" in message and "'new'" in message


def test_fewer_branches_is_non_deterministic() -> None:
    output = _interrupted(
        lambda ctx: ctx.parallel([_wait_branch, _wait_branch], name="p"),
        lambda ctx: ctx.parallel([_wait_branch], name="p"),
    )
    assert output["Status"] == "FAILED"
    assert "branch 1 of parallel 'p'" in output["Error"]["ErrorMessage"]
    assert "branch count changed" in output["Error"]["ErrorMessage"]


@pytest.mark.parametrize(
    ("before", "after"), [(NestingType.NESTED, NestingType.FLAT), (NestingType.FLAT, NestingType.NESTED)]
)
def test_changed_nesting_is_non_deterministic(before: NestingType, after: NestingType) -> None:
    output = _interrupted(
        lambda ctx: ctx.parallel([_wait_branch], name="p", config=ParallelConfig(nesting_type=before)),
        lambda ctx: ctx.parallel([_wait_branch], name="p", config=ParallelConfig(nesting_type=after)),
    )
    assert output["Status"] == "FAILED"
    message = output["Error"]["ErrorMessage"]
    assert "branch 0 of parallel 'p'" in message and f"now {after.value}" in message


def test_renamed_branch_of_a_completed_parallel_is_non_deterministic() -> None:
    output = _interrupted(
        lambda ctx: (ctx.parallel([ParallelBranch(_const(1), name="old")], name="p"), ctx.wait(Duration(1))),
        lambda ctx: ctx.parallel([ParallelBranch(_const(1), name="new")], name="p"),
    )
    assert output["Status"] == "FAILED" and "branch 0 of parallel 'p'" in output["Error"]["ErrorMessage"]


def test_batch_in_an_unexpected_status_is_non_deterministic() -> None:
    service = FakeService()
    handler = durable_execution(lambda event, ctx: ctx.parallel([_wait_branch], name="p").get_results())
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    service.ops[P] = replace(service.ops[P], status=OperationStatus.TIMED_OUT)
    output = handler(service.invocation(), None)
    assert output["Status"] == "FAILED" and "TIMED_OUT" in output["Error"]["ErrorMessage"]


def test_branch_failure_error_survives_replay() -> None:
    """The same ChildContextError on the first run and after replay."""
    errors: list[ChildContextError] = []

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel([_boom("x")])
        try:
            result.throw_if_error()
        except ChildContextError as exc:
            errors.append(exc)
        ctx.wait(Duration(1))
        return "done"

    output, _, _ = run_body(body)
    assert output["Result"] == '"done"'
    assert [(e.message, e.error_type) for e in errors] == [("x", "ValueError"), ("x", "ValueError")]
    assert all(item is not None for item in errors)
    assert S and F and ST  # statuses used by other modules' imports


def test_recorded_payload_rebuilds_the_exact_result() -> None:
    """perdure differs from the .NET SDK: the payload is the serialized BatchResult,
    and replay gives back exactly the live result: statuses, names, results, errors, reason."""
    from perdure.sdk.serdes import deserialize

    seen: list[BatchResult[Any]] = []

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [ParallelBranch(_const({"n": [1, 2]}), name="custom"), _boom("bad"), _const(None)],
            name="exact",
            config=ParallelConfig(1, CompletionConfig(tolerated_failure_count=1)),
        )
        seen.append(result)
        ctx.wait(Duration(1))
        return "ok"

    _, service, _ = run_body(body)
    assert len(seen) == 2 and seen[0] == seen[1]
    (done,) = [u for u in service.updates() if u.id == P and u.action.value == "SUCCEED"]
    assert done.context_options.replay_children is False  # type: ignore[union-attr]
    assert deserialize(None, done.payload or "", P, "arn") == seen[0]
    assert [i.name for i in seen[0].all] == ["custom", "parallel-branch-1", "parallel-branch-2"]


def test_interrupted_flat_parallel_replays_finished_branches_from_inner_records() -> None:
    """FLAT: a finished virtual branch re-runs, its step replays (no second body call)."""
    calls: list[str] = []

    def b0(ctx: DurableContext) -> str:
        return ctx.step(lambda _: calls.append("b0") or "b0")  # type: ignore[func-returns-value]

    def b1(ctx: DurableContext) -> str:
        ctx.wait(Duration(2))
        return ctx.step(lambda _: calls.append("b1") or "b1")  # type: ignore[func-returns-value]

    output, service, invocations = run_body(
        lambda ctx: ctx.parallel(
            [b0, b1], config=ParallelConfig(1, nesting_type=NestingType.FLAT)
        ).get_results()
    )
    assert output["Result"] == '["b0", "b1"]' and invocations == 2
    assert calls == ["b0", "b1"]
    assert [u.action.value for u in service.updates() if u.id == P] == ["START", "SUCCEED"]
