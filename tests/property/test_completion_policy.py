"""Properties of the completion policy: it agrees with a plain reference model and is monotonic."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from perdure.sdk.completion import (
    BatchItemStatus,
    CompletionConfig,
    CompletionDecision,
    CompletionOutcome,
    CompletionPolicy,
    CompletionReason,
    CompletionStatus,
    CompletionTracker,
    complete_batch,
    continue_batch,
)

S, F, ST = BatchItemStatus.SUCCEEDED, BatchItemStatus.FAILED, BatchItemStatus.STARTED
R = CompletionReason

percentages = st.one_of(
    st.integers(0, 100),
    st.floats(0, 100, allow_nan=False),
    st.sampled_from([0.0, 12.5, 25, 30, 33.3, 50, 100.0]),
)
threshold_configs = st.builds(
    CompletionConfig,
    min_successful=st.none() | st.integers(1, 12),
    tolerated_failure_count=st.none() | st.integers(0, 12),
    tolerated_failure_percentage=st.none() | percentages,
)


def reference(
    total: int, config: CompletionConfig, succeeded: int, failed: int
) -> tuple[bool, CompletionReason]:
    """(done, reason) for a threshold config, straight from the rules in docs/parallel-and-map.md."""
    thresholds = [config.min_successful, config.tolerated_failure_count, config.tolerated_failure_percentage]
    if all(t is None for t in thresholds):
        exceeded = failed >= 1
    else:
        by_count = config.tolerated_failure_count is not None and failed > config.tolerated_failure_count
        pct = config.tolerated_failure_percentage
        by_pct = pct is not None and total > 0 and Fraction(100 * failed, total) > Fraction(pct)
        exceeded = by_count or by_pct
    everything = succeeded + failed == total
    enough = config.min_successful is not None and succeeded >= config.min_successful
    if exceeded:
        return True, R.FAILURE_TOLERANCE_EXCEEDED
    if everything:
        return True, R.ALL_COMPLETED
    if enough:
        return True, R.MIN_SUCCESSFUL_REACHED
    return False, R.ALL_COMPLETED


@st.composite
def snapshots(draw: st.DrawFn) -> tuple[int, int, int]:
    total = draw(st.integers(0, 12))
    succeeded = draw(st.integers(0, total))
    failed = draw(st.integers(0, total - succeeded))
    return total, succeeded, failed


@given(threshold_configs, snapshots())
def test_policy_agrees_with_the_reference_model(
    config: CompletionConfig, snapshot: tuple[int, int, int]
) -> None:
    total, succeeded, failed = snapshot
    check = CompletionPolicy.from_config(total, config).check(succeeded, failed)
    done, reason = reference(total, config, succeeded, failed)
    assert check.is_done == done
    if done:
        assert check.reason is reason


def monotonic_predicate(
    min_success: int, max_failure: int
) -> Callable[[CompletionStatus], CompletionDecision]:
    def predicate(status: CompletionStatus) -> CompletionDecision:
        if status.failure_count >= max_failure:
            return complete_batch(CompletionOutcome.FAILED)
        if status.success_count >= min_success:
            return complete_batch()
        return continue_batch()

    return predicate


configs = st.one_of(
    threshold_configs,
    st.builds(
        lambda k, j: CompletionConfig(should_complete=monotonic_predicate(k, j)),
        st.integers(0, 6),
        st.integers(1, 6),
    ),
)


@st.composite
def runs(draw: st.DrawFn) -> tuple[int, list[tuple[int, BatchItemStatus]]]:
    """A batch of `total` branches: admissions in index order, terminal events in any order."""
    total = draw(st.integers(0, 10))
    outcomes = draw(st.lists(st.sampled_from([S, F]), min_size=total, max_size=total))
    pending = list(range(total))
    in_flight: list[int] = []
    events: list[tuple[int, BatchItemStatus]] = []
    while pending or in_flight:
        if pending and (not in_flight or draw(st.booleans())):
            index = pending.pop(0)
            in_flight.append(index)
            events.append((index, ST))
        else:
            index = in_flight.pop(draw(st.integers(0, len(in_flight) - 1)))
            events.append((index, outcomes[index]))
    return total, events


@given(configs, runs())
def test_done_is_monotonic(
    config: CompletionConfig, run: tuple[int, list[tuple[int, BatchItemStatus]]]
) -> None:
    total, events = run
    tracker = CompletionTracker(CompletionPolicy.from_config(total, config))
    done = tracker.check().is_done
    for index, status in events:
        tracker.mark(index, status)
        now = tracker.check().is_done
        assert now or not done, "a completed batch became incomplete"
        done = now
    assert done, "every branch terminal must complete the batch"


@given(configs, runs())
def test_tracker_counts_match_a_recount(
    config: CompletionConfig, run: tuple[int, list[tuple[int, BatchItemStatus]]]
) -> None:
    total, events = run
    tracker = CompletionTracker(CompletionPolicy.from_config(total, config))
    for index, status in events:
        tracker.mark(index, status)
        statuses = tracker.statuses
        assert tracker.succeeded == statuses.count(S)
        assert tracker.failed == statuses.count(F)
        assert tracker.started == statuses.count(ST)
        check = tracker.check()
        expected = CompletionPolicy.from_config(total, config).check(
            tracker.succeeded, tracker.failed, tracker.items()
        )
        assert (check.is_done, check.reason) == (expected.is_done, expected.reason)


@given(st.integers(0, 8), runs())
def test_predicate_runs_once_per_change(
    min_success: int, run: tuple[int, list[tuple[int, BatchItemStatus]]]
) -> None:
    total, events = run
    calls: list[CompletionStatus] = []

    def predicate(status: CompletionStatus) -> CompletionDecision:
        calls.append(status)
        return complete_batch() if status.success_count >= min_success else continue_batch()

    tracker = CompletionTracker(
        CompletionPolicy.from_config(total, CompletionConfig(should_complete=predicate))
    )
    tracker.check()
    tracker.check()
    assert len(calls) == 1 and calls[0].completed_count == 0
    for number, (index, status) in enumerate(events, start=2):
        tracker.mark(index, status)
        tracker.check()
        tracker.check()
        assert len(calls) == number
