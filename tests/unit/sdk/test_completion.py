"""Completion config, presets, custom completion and the completion policy.

Conformance ids name the requirements in tests/conformance/requirements.
"""

from __future__ import annotations

import math

import pytest

from perdure.sdk.completion import (
    BatchItemStatus,
    CompletionConfig,
    CompletionDecision,
    CompletionItemStatus,
    CompletionOutcome,
    CompletionPolicy,
    CompletionReason,
    CompletionStatus,
    CompletionTracker,
    MapConfig,
    NestingType,
    ParallelBranch,
    ParallelConfig,
    complete_batch,
    continue_batch,
    durable_parallel_branch,
)
from perdure.sdk.errors import InvalidStateError, ValidationError

S, F, ST = BatchItemStatus.SUCCEEDED, BatchItemStatus.FAILED, BatchItemStatus.STARTED
R = CompletionReason

# ----------------------------------------------------------------- config validation


@pytest.mark.parametrize("value", [0, -1, -100])
def test_min_successful_below_one_is_rejected_naming_the_field(value: int) -> None:
    with pytest.raises(ValidationError, match="min_successful"):
        CompletionConfig(min_successful=value)


def test_none_and_one_are_valid_min_successful() -> None:
    assert CompletionConfig(min_successful=None).min_successful is None
    assert CompletionConfig(min_successful=1).min_successful == 1


def test_tolerated_failure_count_negative_is_rejected_zero_is_not() -> None:
    with pytest.raises(ValidationError, match="tolerated_failure_count"):
        CompletionConfig(tolerated_failure_count=-1)
    assert CompletionConfig(tolerated_failure_count=0).tolerated_failure_count == 0


@pytest.mark.parametrize("value", [-0.001, 100.001, 101, -1, math.nan])
def test_percentage_outside_0_100_is_rejected(value: float) -> None:
    with pytest.raises(ValidationError, match="tolerated_failure_percentage"):
        CompletionConfig(tolerated_failure_percentage=value)


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 1.0, 25, 100, 100.0])
def test_percentage_bounds_are_inclusive(value: float) -> None:
    assert CompletionConfig(tolerated_failure_percentage=value).tolerated_failure_percentage == value


def test_validation_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        CompletionConfig(min_successful=0)


def test_predicate_must_be_callable_and_alone() -> None:
    with pytest.raises(ValidationError, match="callable"):
        CompletionConfig(should_complete=42)  # type: ignore[arg-type]
    for field in ("min_successful", "tolerated_failure_count", "tolerated_failure_percentage"):
        with pytest.raises(ValidationError, match="cannot be combined"):
            CompletionConfig(should_complete=lambda s: continue_batch(), **{field: 1})


def test_min_successful_greater_than_total_is_rejected() -> None:
    CompletionConfig(min_successful=3).validate_for_total(3)
    CompletionConfig().validate_for_total(0)
    with pytest.raises(ValidationError, match=r"min_successful cannot be greater than total items: 4 > 3"):
        CompletionConfig(min_successful=4).validate_for_total(3)


def test_config_is_frozen() -> None:
    config = CompletionConfig()
    with pytest.raises(AttributeError):
        config.min_successful = 2  # type: ignore[misc]


# ------------------------------------------------------------------------- presets


def test_presets_match_the_official_sdk() -> None:
    assert CompletionConfig.all_successful() == CompletionConfig(
        tolerated_failure_count=0, tolerated_failure_percentage=0
    )
    assert CompletionConfig.first_successful() == CompletionConfig(min_successful=1)
    assert CompletionConfig.all_completed() == CompletionConfig(tolerated_failure_percentage=100)


@pytest.mark.parametrize("total", [1, 2, 5, 17])
def test_all_completed_never_exceeds_tolerance(total: int) -> None:
    policy = CompletionPolicy.from_config(total, CompletionConfig.all_completed())
    for failed in range(total + 1):
        assert not policy.is_tolerance_exceeded(failed)
        assert policy.reason(total - failed, failed) is R.ALL_COMPLETED


def test_parallel_and_map_defaults() -> None:
    parallel = ParallelConfig()
    assert parallel.max_concurrency is None
    assert parallel.completion_config == CompletionConfig.all_successful()
    assert parallel.nesting_type is NestingType.NESTED
    assert (parallel.serdes, parallel.item_serdes, parallel.summary_generator) == (None, None, None)
    mapping: MapConfig[int] = MapConfig()
    assert mapping.max_concurrency is None
    # The official SDK 3.0 default (fail fast), not the .NET SDK's all_completed (docs say why).
    assert mapping.completion_config == CompletionConfig()
    assert mapping.nesting_type is NestingType.NESTED
    assert mapping.item_namer is None


@pytest.mark.parametrize("cls", [ParallelConfig, MapConfig])
@pytest.mark.parametrize("value", [0, -1])
def test_max_concurrency_below_one_is_rejected(cls: type, value: int) -> None:
    with pytest.raises(ValidationError, match="max_concurrency must be at least 1"):
        cls(max_concurrency=value)


@pytest.mark.parametrize("cls", [ParallelConfig, MapConfig])
def test_max_concurrency_one_and_none_are_valid(cls: type) -> None:
    assert cls(max_concurrency=1).max_concurrency == 1
    assert cls(max_concurrency=None).max_concurrency is None


def test_map_item_namer_is_kept() -> None:
    config: MapConfig[int] = MapConfig(item_namer=lambda item, index: f"Order-{item}")
    assert config.item_namer is not None
    assert config.item_namer(7, 0) == "Order-7"


# ------------------------------------------------------------------- custom decision


def test_decision_factories() -> None:
    assert continue_batch() == CompletionDecision(False, None)
    assert complete_batch() == CompletionDecision(True, CompletionOutcome.SUCCEEDED)
    assert complete_batch(CompletionOutcome.FAILED).outcome is CompletionOutcome.FAILED


def test_decision_validation() -> None:
    with pytest.raises(ValidationError, match="outcome is required"):
        CompletionDecision(complete=True)
    with pytest.raises(ValidationError, match="outcome must be None"):
        CompletionDecision(complete=False, outcome=CompletionOutcome.SUCCEEDED)


# ----------------------------------------------------------------- completion policy


def _policy(total: int, **config: object) -> CompletionPolicy:
    return CompletionPolicy.from_config(total, CompletionConfig(**config))  # type: ignore[arg-type]


def test_tolerated_count_is_strict() -> None:
    policy = _policy(10, tolerated_failure_count=2)
    assert not policy.is_tolerance_exceeded(2)
    assert policy.is_tolerance_exceeded(3)


def test_tolerated_percentage_is_strict_against_the_declared_total() -> None:
    policy = _policy(4, tolerated_failure_percentage=50)
    assert not policy.is_tolerance_exceeded(2)
    assert policy.is_tolerance_exceeded(3)
    quarter = _policy(4, tolerated_failure_percentage=25)
    assert not quarter.is_tolerance_exceeded(1)  # 25% == 25%: not exceeded (8-22)
    assert quarter.is_tolerance_exceeded(2)  # 50% > 25% (8-13)


def test_no_criteria_fails_fast() -> None:
    policy = CompletionPolicy.from_config(3, None)
    assert policy == CompletionPolicy.from_config(3, CompletionConfig())
    assert not policy.is_tolerance_exceeded(0)
    assert policy.is_tolerance_exceeded(1)


def test_tolerance_is_checked_before_min_successful() -> None:
    policy = _policy(4, min_successful=1, tolerated_failure_count=0)
    assert policy.reason(1, 1) is R.FAILURE_TOLERANCE_EXCEEDED


def test_min_successful_reached_only_with_branches_left() -> None:
    policy = _policy(4, min_successful=2)
    assert policy.reason(2, 0) is R.MIN_SUCCESSFUL_REACHED
    assert policy.reason(2, 1) is R.MIN_SUCCESSFUL_REACHED
    # Every branch terminal: ALL_COMPLETED even though min_successful is met.
    assert policy.reason(3, 1) is R.ALL_COMPLETED
    assert policy.reason(4, 0) is R.ALL_COMPLETED


def test_first_successful_with_every_branch_failing_is_all_completed() -> None:
    policy = CompletionPolicy.from_config(3, CompletionConfig.first_successful())
    for failed in range(3):
        assert not policy.check(0, failed).is_done
    check = policy.check(0, 3)
    assert check.is_done
    assert check.reason is R.ALL_COMPLETED


def test_empty_batch_is_done_at_once_with_all_completed() -> None:
    for config in (None, CompletionConfig.all_successful(), CompletionConfig.all_completed()):
        check = CompletionPolicy.from_config(0, config).check(0, 0)
        assert check.is_done
        assert check.reason is R.ALL_COMPLETED


# (total, config, outcomes in admission order, expected stop index, reason) with
# max_concurrency 1: the conformance suites' deterministic scenarios.
SCENARIOS = [
    ("8-6/9-5", 3, {"tolerated_failure_count": 0}, [S, F, S], 2, R.FAILURE_TOLERANCE_EXCEEDED),
    ("8-7/9-6", 2, {"tolerated_failure_count": 0}, [F, S], 1, R.FAILURE_TOLERANCE_EXCEEDED),
    ("8-8/9-7", 4, {"min_successful": 2}, [S, S, S, S], 2, R.MIN_SUCCESSFUL_REACHED),
    ("8-9/9-8", 3, {"tolerated_failure_count": 1}, [S, F, S], 3, R.ALL_COMPLETED),
    ("8-10/9-9", 3, {"tolerated_failure_count": 1}, [F, F, S], 2, R.FAILURE_TOLERANCE_EXCEEDED),
    ("8-13/9-10", 4, {"tolerated_failure_percentage": 25}, [F, F, S, S], 2, R.FAILURE_TOLERANCE_EXCEEDED),
    ("8-16", 3, {"tolerated_failure_count": 3}, [F, F, F], 3, R.ALL_COMPLETED),
    ("8-17", 3, {"min_successful": 3}, [S, F, S], 3, R.ALL_COMPLETED),
    (
        "8-18",
        4,
        {"min_successful": 3, "tolerated_failure_count": 1},
        [F, F, S, S],
        2,
        R.FAILURE_TOLERANCE_EXCEEDED,
    ),
    ("8-20", 3, {"tolerated_failure_count": 1}, [S, F, S], 3, R.ALL_COMPLETED),
    ("8-22", 4, {"tolerated_failure_percentage": 25}, [F, S, S, S], 4, R.ALL_COMPLETED),
    ("9-18", 2, {"tolerated_failure_count": 1}, [S, F], 2, R.ALL_COMPLETED),
]


@pytest.mark.parametrize(
    ("total", "config", "outcomes", "stop", "reason"),
    [s[1:] for s in SCENARIOS],
    ids=[s[0] for s in SCENARIOS],
)
def test_conformance_scenarios_sequentially(
    total: int, config: dict[str, int], outcomes: list[BatchItemStatus], stop: int, reason: CompletionReason
) -> None:
    """Run branches one at a time (max_concurrency 1) the way the executor will."""
    tracker = CompletionTracker(CompletionPolicy.from_config(total, CompletionConfig(**config)))  # type: ignore[arg-type]
    admitted = 0
    while tracker.may_admit():
        tracker.mark(admitted, ST)
        tracker.mark(admitted, outcomes[admitted])
        admitted += 1
    assert admitted == stop
    assert tracker.check().reason is reason


def test_parallel_default_stops_at_the_first_failure() -> None:
    policy = CompletionPolicy.from_config(3, ParallelConfig().completion_config)
    assert policy.check(1, 1).is_done
    assert policy.check(1, 1).reason is R.FAILURE_TOLERANCE_EXCEEDED


# ------------------------------------------------------------------- custom predicate


def test_predicate_runs_once_before_any_branch_starts() -> None:
    seen: list[CompletionStatus] = []

    def predicate(status: CompletionStatus) -> CompletionDecision:
        seen.append(status)
        return continue_batch()

    policy = CompletionPolicy.from_config(3, CompletionConfig(should_complete=predicate))
    tracker = CompletionTracker(policy, names=["a", None, "c"])
    assert not tracker.check().is_done
    assert tracker.check() is tracker.check()  # memoised: still one call
    assert seen == [
        CompletionStatus(
            0,
            0,
            0,
            3,
            (
                CompletionItemStatus(0, "a", None),
                CompletionItemStatus(1, None, None),
                CompletionItemStatus(2, "c", None),
            ),
        )
    ]
    tracker.mark(0, ST)
    tracker.check()
    tracker.mark(0, S)
    tracker.check()
    assert len(seen) == 3
    assert seen[1].items[0].status is ST
    assert (seen[2].success_count, seen[2].completed_count, seen[2].items[0].status) == (1, 1, S)


def test_predicate_complete_before_start_completes_an_untouched_batch() -> None:
    policy = CompletionPolicy.from_config(5, CompletionConfig(should_complete=lambda s: complete_batch()))
    check = CompletionTracker(policy).check()
    assert check.is_done
    assert check.reason is R.CUSTOM_COMPLETION_SUCCEEDED


def test_predicate_outcomes_give_custom_reasons() -> None:
    def quorum(status: CompletionStatus) -> CompletionDecision:
        if status.failure_count >= 2:
            return complete_batch(CompletionOutcome.FAILED)
        if status.success_count >= 2:
            return complete_batch()
        return continue_batch()

    policy = CompletionPolicy.from_config(5, CompletionConfig(should_complete=quorum))
    assert not policy.check(1, 1).is_done
    assert policy.check(2, 1).reason is R.CUSTOM_COMPLETION_SUCCEEDED
    assert policy.check(1, 2).reason is R.CUSTOM_COMPLETION_FAILED


def test_predicate_disables_the_tolerance_check() -> None:
    policy = CompletionPolicy.from_config(3, CompletionConfig(should_complete=lambda s: continue_batch()))
    assert not policy.is_tolerance_exceeded(3)
    assert policy.should_continue(2)
    # The batch still completes once every branch is terminal.
    check = policy.check(0, 3)
    assert check.is_done
    assert check.reason is R.ALL_COMPLETED


def test_custom_decision_takes_precedence_over_all_completed() -> None:
    policy = CompletionPolicy.from_config(
        2, CompletionConfig(should_complete=lambda s: complete_batch(CompletionOutcome.FAILED))
    )
    assert policy.reason(2, 0) is R.CUSTOM_COMPLETION_FAILED


def test_predicate_sees_index_ordered_items_for_quorum_rules() -> None:
    def branch0_or_1_and_2(status: CompletionStatus) -> CompletionDecision:
        items = status.items
        if items[0].status is S or (items[1].status is S and items[2].status is S):
            return complete_batch()
        return continue_batch()

    tracker = CompletionTracker(
        CompletionPolicy.from_config(3, CompletionConfig(should_complete=branch0_or_1_and_2))
    )
    for index in (1, 2):
        tracker.mark(index, ST)
    tracker.mark(2, S)
    assert not tracker.check().is_done
    tracker.mark(1, S)
    assert tracker.check().reason is R.CUSTOM_COMPLETION_SUCCEEDED


# --------------------------------------------------------------------------- tracker


def test_tracker_counts_and_forward_only_moves() -> None:
    tracker = CompletionTracker(CompletionPolicy.from_config(3, CompletionConfig.all_completed()))
    tracker.mark(0, ST)
    tracker.mark(0, ST)  # no-op
    tracker.mark(1, F)  # straight to terminal is allowed (e.g. a raced event)
    assert (tracker.started, tracker.succeeded, tracker.failed) == (1, 0, 1)
    tracker.mark(0, S)
    assert (tracker.started, tracker.succeeded, tracker.failed) == (0, 1, 1)
    assert tracker.statuses == (S, F, None)
    with pytest.raises(InvalidStateError, match="branch 0 cannot move"):
        tracker.mark(0, ST)
    with pytest.raises(InvalidStateError):
        tracker.mark(1, S)


def test_tracker_names_must_match_total() -> None:
    with pytest.raises(ValidationError, match="expected 2 names"):
        CompletionTracker(CompletionPolicy(total=2), names=["a"])


def test_min_successful_stops_admission_with_branches_in_flight() -> None:
    tracker = CompletionTracker(CompletionPolicy.from_config(4, CompletionConfig(min_successful=1)))
    tracker.mark(0, ST)
    tracker.mark(1, ST)
    tracker.mark(1, S)
    check = tracker.check()
    assert check.is_done
    assert check.reason is R.MIN_SUCCESSFUL_REACHED
    assert tracker.statuses == (ST, S, None, None)


# --------------------------------------------------------------------- parallel branch


def test_parallel_branch_is_callable_and_named() -> None:
    branch = ParallelBranch(lambda ctx: f"ran with {ctx}", name="fetch")
    assert branch("ctx") == "ran with ctx"
    assert branch.name == "fetch"
    assert ParallelBranch(lambda ctx: 1).name is None


def test_durable_parallel_branch_binds_arguments() -> None:
    @durable_parallel_branch(name="fetch-user")
    def fetch_user(ctx: object, user_id: str, *, verbose: bool = False) -> str:
        return f"{ctx}:{user_id}:{verbose}"

    branch = fetch_user("u-1", verbose=True)
    assert isinstance(branch, ParallelBranch)
    assert branch.name == "fetch-user"
    assert branch("ctx") == "ctx:u-1:True"

    @durable_parallel_branch()
    def unnamed(ctx: object) -> int:
        return 1

    assert unnamed().name is None


def test_percentage_boundary_is_exact() -> None:
    # In floats 7 / 25 * 100 == 28.000000000000004 and 11 / 20 * 100 == 55.00000000000001;
    # conformance 8-22 wants "strictly greater", so equality must not exceed.
    assert not _policy(25, tolerated_failure_percentage=28).is_tolerance_exceeded(7)
    assert not _policy(20, tolerated_failure_percentage=55.0).is_tolerance_exceeded(11)
    assert _policy(20, tolerated_failure_percentage=55).is_tolerance_exceeded(12)
    assert _policy(10, tolerated_failure_percentage=29.9).is_tolerance_exceeded(3)
