"""Property: with max_concurrency 1 the executor admits, stops and reports exactly as a
plain sequential reference model driven by the completion policy does."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from perdure.sdk.completion import CompletionConfig, CompletionPolicy, ParallelConfig
from perdure.sdk.context import DurableContext
from perdure.sdk.execution import durable_execution

from .fakes import FakeService, run_to_end


def _configs(n: int) -> st.SearchStrategy[CompletionConfig | None]:
    counts = st.integers(0, n + 1)
    percentages = st.integers(0, 100)
    minimums = st.integers(1, max(n, 1)).filter(lambda m: m <= n) if n else st.nothing()
    return st.one_of(
        st.none(),
        st.builds(CompletionConfig, tolerated_failure_count=counts),
        st.builds(CompletionConfig, tolerated_failure_percentage=percentages),
        st.builds(CompletionConfig, min_successful=minimums),
        st.builds(CompletionConfig, min_successful=minimums, tolerated_failure_count=counts),
    )


@st.composite
def _cases(draw: st.DrawFn) -> tuple[list[bool], CompletionConfig | None]:
    outcomes = draw(st.lists(st.booleans(), max_size=7))
    return outcomes, draw(_configs(len(outcomes)))


def _reference(outcomes: list[bool], config: CompletionConfig | None) -> tuple[list[str], str]:
    policy = CompletionPolicy.from_config(len(outcomes), config)
    succeeded = failed = 0
    statuses: list[str] = []
    for ok in outcomes:
        if policy.check(succeeded, failed).is_done:
            break
        statuses.append("SUCCEEDED" if ok else "FAILED")
        succeeded, failed = succeeded + ok, failed + (not ok)
    return statuses, policy.reason(succeeded, failed).value


@settings(max_examples=60, deadline=None)
@given(_cases())
def test_sequential_batches_match_the_reference(case: tuple[list[bool], CompletionConfig | None]) -> None:
    outcomes, config = case

    def branch(ok: bool) -> Any:
        def run(ctx: DurableContext) -> str:
            if not ok:
                raise ValueError("no")
            return "yes"

        return run

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        parallel_config = ParallelConfig(max_concurrency=1)
        if config is not None:
            parallel_config = ParallelConfig(max_concurrency=1, completion_config=config)
        result = ctx.parallel([branch(ok) for ok in outcomes], config=parallel_config)
        return [[i.status.value for i in result.all], result.completion_reason.value]

    output, _ = run_to_end(handler, FakeService())
    statuses, reason = json.loads(output["Result"])
    expected_statuses, expected_reason = _reference(
        outcomes, config if config is not None else CompletionConfig.all_successful()
    )
    assert (statuses, reason) == (expected_statuses, expected_reason)
