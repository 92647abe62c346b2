"""Batch results over 256 KiB: the envelope, ReplayChildren, and exact rebuilds on replay.

A single child context's overflow is covered by test_child_context.py.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from typing import Any

import pytest

from perdure.sdk.batch import BatchItem, BatchResult
from perdure.sdk.completion import (
    BatchItemStatus,
    CompletionConfig,
    CompletionReason,
    MapConfig,
    NestingType,
    ParallelBranch,
    ParallelConfig,
)
from perdure.sdk.config import Duration
from perdure.sdk.context import DurableContext
from perdure.sdk.execution import durable_execution
from perdure.sdk.ids import operation_id
from perdure.sdk.serdes import serialize
from perdure.wire.limits import MAX_OPERATION_PAYLOAD_BYTES
from perdure.wire.types import ContextDetails, OperationAction

from .batch_support import DroppingService
from .fakes import FakeService, run_body

P = operation_id(None, 1)
KB150 = 150 * 1024
FLAT = NestingType.FLAT


def _parent_succeeds(service: FakeService) -> list[Any]:
    return [u for u in service.updates() if u.id == P and u.action is OperationAction.SUCCEED]


def _generate(i: int) -> str:
    return ("abc" * (KB150 // 3 + 1))[:KB150] if i == 0 else (chr(ord("d") + i) * KB150)


def test_seed_end_to_end_three_flat_branches_of_150_kb() -> None:
    """each branch makes 150 KB behind a wait; a wait after the parallel replays it."""
    generated: list[int] = []

    def branch(i: int) -> Any:
        def run(ctx: DurableContext) -> str:
            def make(_: Any) -> str:
                generated.append(i)
                return _generate(i)

            value = ctx.step(make, name="generate")
            ctx.wait(Duration(2), name="boundary")
            return value

        return run

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [branch(i) for i in range(3)], name="overflow", config=ParallelConfig(nesting_type=FLAT)
        )
        ctx.wait(Duration(1), name="post-overflow")
        values = result.get_results()
        return {"Lengths": ",".join(str(len(v)) for v in values), "FirstChars": values[0][:3]}

    output, service, invocations = run_body(body)
    assert json.loads(output["Result"]) == {"Lengths": "153600,153600,153600", "FirstChars": "abc"}
    assert invocations >= 3 and sorted(generated) == [0, 1, 2]  # step bodies ran once
    contexts = [
        u for u in service.updates() if u.type.value == "CONTEXT" and u.action is OperationAction.START
    ]
    assert [u.id for u in contexts] == [P]
    steps = [u for u in service.updates() if u.name == "generate" and u.action is OperationAction.SUCCEED]
    assert sorted(u.id for u in steps) == sorted(operation_id(operation_id(P, i), 1) for i in range(3))
    assert {u.parent_id for u in steps} == {P}
    (done,) = _parent_succeeds(service)  # one terminal checkpoint for the parent
    assert done.context_options.replay_children is True  # type: ignore[union-attr]
    assert len(done.payload or "") <= MAX_OPERATION_PAYLOAD_BYTES


def test_flat_overflow_keeps_full_values_in_the_current_invocation() -> None:
    """a stripped envelope with every status; this invocation keeps the values."""
    seen: list[BatchResult[Any]] = []

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [lambda c: "x" * (200 * 1024), lambda c: "y" * (200 * 1024)],
            config=ParallelConfig(nesting_type=FLAT),
        )
        seen.append(result)
        return [len(v) for v in result.get_results()]

    output, service, _ = run_body(body)
    assert output["Result"] == "[204800, 204800]"
    (done,) = _parent_succeeds(service)
    envelope = json.loads(done.payload or "")
    assert envelope["completionReason"] == "ALL_COMPLETED" and envelope["successCount"] == 2
    assert envelope["perdure"]["failed"] == [] and envelope["perdure"]["nesting"] == "FLAT"
    assert "0" in envelope["perdure"]["results"] and "1" not in envelope["perdure"]["results"]
    assert [i.status for i in seen[0].all] == [BatchItemStatus.SUCCEEDED] * 2


def _exact_threshold_length() -> int:
    """The result length whose serialized single-branch BatchResult is exactly 256 KiB."""
    probe = BatchResult(
        [BatchItem(0, BatchItemStatus.SUCCEEDED, "", None, "parallel-branch-0")],
        CompletionReason.ALL_COMPLETED,
    )
    overhead = len(serialize(None, probe, "x", "arn"))
    return MAX_OPERATION_PAYLOAD_BYTES - overhead


@pytest.mark.parametrize(("extra", "overflows"), [(0, False), (1, True)])
def test_threshold_is_strictly_greater_than_256_kib(extra: int, overflows: bool) -> None:
    """UTF-8 bytes of the serialized result > 262,144 overflows; exactly 262,144 does not."""
    length = _exact_threshold_length() + extra

    def body(ctx: DurableContext) -> Any:
        return len(
            ctx.parallel([lambda c: "z" * length], config=ParallelConfig(nesting_type=FLAT)).get_results()[0]
        )

    output, service, _ = run_body(body)
    assert output["Result"] == str(length)
    (done,) = _parent_succeeds(service)
    assert done.context_options.replay_children is overflows  # type: ignore[union-attr]
    if not overflows:
        assert len((done.payload or "").encode()) == MAX_OPERATION_PAYLOAD_BYTES


def test_overflow_replay_never_runs_a_started_branch() -> None:
    """statuses and reason from the envelope; STARTED never re-runs;
    only branches whose value is missing re-run; nothing is checkpointed for the parent."""
    runs: list[int] = []
    slow_runs: list[int] = []  # runs of the slow branch when each invocation began
    release = threading.Event()

    def big(i: int) -> Any:
        def run(ctx: DurableContext) -> str:
            runs.append(i)
            return ctx.step(lambda _: str(i) * KB150)

        return run

    def slow(ctx: DurableContext) -> str:
        runs.append(2)
        release.wait(5)
        return "late"

    def body(ctx: DurableContext) -> Any:
        slow_runs.append(runs.count(2))
        result = ctx.parallel(
            [big(0), big(1), slow],
            config=ParallelConfig(3, CompletionConfig(min_successful=2), nesting_type=FLAT),
        )
        release.set()
        ctx.wait(Duration(1))
        return [
            result.completion_reason.value,
            [i.status.value for i in result.all],
            [len(v) for v in result.get_results()],
        ]

    output, service, invocations = run_body(body)
    assert json.loads(output["Result"]) == [
        "MIN_SUCCESSFUL_REACHED",
        ["SUCCEEDED", "SUCCEEDED", "STARTED"],
        [KB150, KB150],
    ]
    assert invocations == 2
    # The STARTED branch never re-ran. It ran at most once in the first invocation: an
    # admitted branch whose worker had not picked it up when the batch completed is
    # cancelled (the pool shuts down with cancel_futures, as the official SDK's does).
    # (The first invocation joins its branches before it ends, so slow_runs[1] is final.)
    assert slow_runs[0] == 0 and slow_runs[1] <= 1 and runs.count(2) == slow_runs[1]
    assert runs.count(0) + runs.count(1) == 3  # one of the two did not fit: re-run once
    assert len(_parent_succeeds(service)) == 1


def test_overflow_replay_recovers_a_failed_branch_error() -> None:
    """the error is in the envelope (perdure records it when it fits)."""

    def failing(ctx: DurableContext) -> str:
        raise ValueError("flat boom")

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [lambda c: "a" * (300 * 1024), failing],
            config=ParallelConfig(1, CompletionConfig(tolerated_failure_count=1), nesting_type=FLAT),
        )
        ctx.wait(Duration(1))
        error = result.failed()[0].error
        return [error.error_message, error.error_type, len(result.get_results()[0])]  # type: ignore[union-attr]

    output, _, invocations = run_body(body)
    assert json.loads(output["Result"]) == ["flat boom", "ValueError", 300 * 1024] and invocations == 2


def test_overflow_replay_of_an_error_not_in_the_envelope_reruns_the_flat_branch() -> None:
    """As the .NET SDK does it: when the error did not fit, a FLAT branch re-runs to recover it."""
    service = FakeService()
    calls: list[int] = []

    def failing(ctx: DurableContext) -> str:
        calls.append(1)
        raise ValueError("again")

    def body(ctx: DurableContext) -> Any:
        result = ctx.parallel(
            [lambda c: "a" * (300 * 1024), failing],
            config=ParallelConfig(1, CompletionConfig(tolerated_failure_count=1), nesting_type=FLAT),
        )
        ctx.wait(Duration(1))
        return result.failed()[0].error.error_message  # type: ignore[union-attr]

    handler = durable_execution(lambda event, ctx: body(ctx))
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    parent = service.ops[P]
    envelope = json.loads(parent.context_details.result)  # type: ignore[union-attr]
    del envelope["perdure"]["errors"]
    service.ops[P] = replace(
        parent, context_details=replace(parent.context_details, result=json.dumps(envelope))
    )  # type: ignore[arg-type]
    service.advance()
    output = handler(service.invocation(), None)
    assert output["Result"] == '"again"' and calls == [1, 1]


def test_overflow_replay_name_drift_is_non_deterministic() -> None:
    service = FakeService()

    def run(name: str) -> Any:
        def body(event: Any, ctx: DurableContext) -> Any:
            ctx.parallel(
                [ParallelBranch(lambda c: "q" * (300 * 1024), name=name)],
                name="p",
                config=ParallelConfig(nesting_type=FLAT),
            )
            ctx.wait(Duration(1))

        return durable_execution(body)

    assert run("old")(service.invocation(), None)["Status"] == "PENDING"
    service.advance()
    output = run("new")(service.invocation(), None)
    assert output["Status"] == "FAILED"
    assert "branch 0 of parallel 'p'" in output["Error"]["ErrorMessage"]


def test_overflow_replay_count_change_is_non_deterministic() -> None:
    service = FakeService()

    def run(n: int) -> Any:
        def body(event: Any, ctx: DurableContext) -> Any:
            ctx.map(list(range(n)), lambda c, *a: "q" * (100 * 1024), name="m")
            ctx.wait(Duration(1))

        return durable_execution(body)

    assert run(3)(service.invocation(), None)["Status"] == "PENDING"
    service.advance()
    output = run(2)(service.invocation(), None)
    assert output["Status"] == "FAILED"
    assert "3 branches were recorded and 2 are declared now" in output["Error"]["ErrorMessage"]


def test_nested_unit_over_256_kib_is_recovered_after_later_resumes() -> None:
    """a NESTED branch overflowing on its own (its context has ReplayChildren too)."""
    step_runs: list[int] = []

    def branch(ctx: DurableContext) -> str:
        def make(_: Any) -> str:
            step_runs.append(1)
            return "n" * 1024

        small = ctx.step(make)
        return small * 300

    def body(ctx: DurableContext) -> Any:
        result = ctx.map([1, 2], lambda c, *a: branch(c), name="nested-big")
        ctx.wait(Duration(1))
        ctx.wait(Duration(1))
        return [len(v) for v in result.get_results()]

    output, service, invocations = run_body(body, DroppingService())
    assert output["Result"] == "[307200, 307200]" and invocations == 3
    assert step_runs == [1, 1]
    iteration_done = [
        u for u in service.updates() if u.sub_type == "MapIteration" and u.action is OperationAction.SUCCEED
    ]
    assert all(u.context_options.replay_children for u in iteration_done)  # type: ignore[union-attr]


def test_nested_overflow_with_a_failed_and_never_started_branch_replays_exactly() -> None:
    """Exact rebuild: statuses, names, errors, results and the reason, across two resumes."""
    seen: list[list[Any]] = []

    def func(ctx: DurableContext, item: int, index: int, items: Any) -> str:
        if item == 1:
            raise KeyError("one")
        return ctx.step(lambda _: str(item) * KB150)

    def body(ctx: DurableContext) -> Any:
        config: MapConfig[int] = MapConfig(
            1, CompletionConfig(tolerated_failure_count=1), item_namer=lambda item, i: f"Order-{item}"
        )
        result = ctx.map([0, 1, 2, 3, 4], func, name="orders", config=config)
        snapshot = [
            result.completion_reason.value,
            [
                (
                    i.index,
                    i.status.value,
                    i.name,
                    len(i.result or ""),
                    i.error.error_type if i.error else None,
                )
                for i in result.all
            ],
        ]
        seen.append(snapshot)
        ctx.wait(Duration(1))
        ctx.wait(Duration(1))
        return snapshot

    _output, _, invocations = run_body(body, DroppingService())
    assert invocations == 3 and len(seen) == 3
    assert seen[0] == seen[1] == seen[2]
    assert seen[0][0] == "ALL_COMPLETED"
    assert [row[1] for row in seen[0][1]] == ["SUCCEEDED", "FAILED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]
    assert seen[0][1][1][4] == "KeyError" and seen[0][1][0][2] == "Order-0"


def test_an_invalid_envelope_falls_back_to_the_branch_records() -> None:
    service = FakeService()

    def body(event: Any, ctx: DurableContext) -> Any:
        result = ctx.parallel([lambda c: "w" * (200 * 1024), lambda c: "v" * (200 * 1024)], name="p")
        ctx.wait(Duration(1))
        return [result.completion_reason.value, [len(v) for v in result.get_results()]]

    handler = durable_execution(body)
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    parent = service.ops[P]
    service.ops[P] = replace(parent, context_details=ContextDetails(replay_children=True, result="not json"))
    service.advance()
    output = handler(service.invocation(), None)
    assert json.loads(output["Result"]) == ["ALL_COMPLETED", [200 * 1024, 200 * 1024]]


def test_official_envelope_without_perdure_fields_replays_from_branch_records() -> None:
    """an envelope without perdure's key (the official SDK's) is read; statuses of
    terminal branches come from their records, names from the code."""
    service = FakeService()

    def func(ctx: DurableContext, item: int, index: int, items: Any) -> str:
        if item == 1:
            raise ValueError("odd")
        return "o" * (200 * 1024)

    def body(event: Any, ctx: DurableContext) -> Any:
        config: MapConfig[int] = MapConfig(completion_config=CompletionConfig.all_completed())
        result = ctx.map([0, 1, 2], func, name="m", config=config)
        ctx.wait(Duration(1))
        return [
            [i.status.value for i in result.all],
            [len(v) for v in result.get_results()],
            result.failed()[0].error.error_message,
        ]  # type: ignore[union-attr]

    handler = durable_execution(body)
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    parent = service.ops[P]
    envelope = json.loads(parent.context_details.result)  # type: ignore[union-attr]
    del envelope["perdure"]
    service.ops[P] = replace(
        parent, context_details=replace(parent.context_details, result=json.dumps(envelope))
    )  # type: ignore[arg-type]
    service.advance()
    output = handler(service.invocation(), None)
    assert json.loads(output["Result"]) == [["SUCCEEDED", "FAILED", "SUCCEEDED"], [200 * 1024] * 2, "odd"]


def test_failing_summary_generator_fails_the_batch_on_every_run() -> None:
    """The batch itself FAILs (its only failure mode): the error is raised, also on replay."""
    service = FakeService()
    raised: list[str] = []

    def summary(result: Any) -> str:
        raise RuntimeError("no summary")

    def body(event: Any, ctx: DurableContext) -> Any:
        try:
            ctx.parallel(
                [lambda c: "s" * (300 * 1024)], name="p", config=ParallelConfig(summary_generator=summary)
            )
        except Exception as exc:
            raised.append(type(exc).__name__)
        ctx.wait(Duration(1))
        return raised

    output, service, _ = run_body(lambda ctx: body(None, ctx), service)
    assert output["Result"] == '["ChildContextError", "ChildContextError"]'
    assert [u.action.value for u in service.updates() if u.id == P] == ["START", "FAIL"]
