"""BatchItem and BatchResult: views, counts, status, throw_if_error, dict round trip.

Conformance ids name the requirements in tests/conformance/requirements.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from perdure.sdk.batch import BatchItem, BatchResult
from perdure.sdk.completion import (
    BatchItemStatus,
    CompletionConfig,
    CompletionOutcome,
    CompletionReason,
    CompletionStatus,
    complete_batch,
    continue_batch,
)
from perdure.sdk.errors import (
    BatchCompletionError,
    ChildContextError,
    DurableOperationError,
    SerDesError,
    StepError,
    ValidationError,
)
from perdure.wire.types import ErrorObject

S, F, ST = BatchItemStatus.SUCCEEDED, BatchItemStatus.FAILED, BatchItemStatus.STARTED
R = CompletionReason
BOOM_A = ErrorObject("a", "ValueError", None, ("line 1",))
BOOM_B = ErrorObject("b", "KeyError")


def _mixed() -> BatchResult[str]:
    return BatchResult(
        [
            BatchItem(0, S, "r0", name="parallel-branch-0"),
            BatchItem(1, F, error=BOOM_A, name="parallel-branch-1"),
            BatchItem(2, S, None, name="parallel-branch-2"),
            BatchItem(3, ST, name="parallel-branch-3"),
            BatchItem(4, F, error=BOOM_B, name="parallel-branch-4"),
        ],
        R.ALL_COMPLETED,
    )


def test_views_are_filtered_in_index_order() -> None:
    result = _mixed()
    assert [i.index for i in result.succeeded()] == [0, 2]
    assert [i.index for i in result.failed()] == [1, 4]
    assert [i.index for i in result.started()] == [3]
    assert [i.index for i in result.all] == [0, 1, 2, 3, 4]


def test_results_skip_failed_and_started_but_keep_none() -> None:
    assert _mixed().get_results() == ["r0", None]


def test_errors_one_per_failed_item() -> None:
    assert _mixed().get_errors() == [BOOM_A, BOOM_B]
    no_error: BatchResult[Any] = BatchResult([BatchItem(0, F)], R.ALL_COMPLETED)
    assert no_error.get_errors() == [None]


def test_counts_match_the_views() -> None:
    result = _mixed()
    assert (result.success_count, result.failure_count, result.started_count, result.total_count) == (
        2,
        2,
        1,
        5,
    )
    assert result.success_count == len(result.succeeded())
    assert result.failure_count == len(result.failed())
    assert result.started_count == len(result.started())


def test_status_and_has_failure() -> None:  # 8-9, 8-16, 8-17, 8-20
    assert _mixed().has_failure
    assert _mixed().status is F
    ok: BatchResult[int] = BatchResult([BatchItem(0, S, 1), BatchItem(1, ST)], R.MIN_SUCCESSFUL_REACHED)
    assert not ok.has_failure
    assert ok.status is S


def test_custom_reasons_decide_status_regardless_of_items() -> None:
    items: list[BatchItem[int]] = [BatchItem(0, S, 1), BatchItem(1, F, error=BOOM_A)]
    assert BatchResult(items, R.CUSTOM_COMPLETION_SUCCEEDED).status is S
    assert BatchResult([BatchItem(0, S, 1)], R.CUSTOM_COMPLETION_FAILED).status is F


def test_empty_result() -> None:
    empty: BatchResult[Any] = BatchResult([], R.ALL_COMPLETED)
    assert (empty.total_count, empty.get_results(), empty.status, empty.has_failure) == (0, [], S, False)
    empty.throw_if_error()


# ------------------------------------------------------------------- throw_if_error


def test_throw_if_error_raises_the_first_failure_as_child_context_error() -> None:
    with pytest.raises(ChildContextError) as caught:
        _mixed().throw_if_error()
    error = caught.value
    assert str(error) == "a"
    assert (error.error_type, error.data, error.stack_trace) == ("ValueError", None, ["line 1"])
    assert type(error.__cause__) is DurableOperationError
    assert error.__cause__.message == "a"


def test_throw_if_error_rebuilds_a_registered_operation_error_as_cause() -> None:
    error_type = f"{StepError.__module__}.{StepError.__qualname__}"
    result: BatchResult[Any] = BatchResult(
        [BatchItem(0, F, error=ErrorObject("step broke", error_type))], R.ALL_COMPLETED
    )
    with pytest.raises(ChildContextError) as caught:
        result.throw_if_error()
    assert isinstance(caught.value.__cause__, StepError)


def test_throw_if_error_with_a_serdes_failure_raises_serdes_error() -> None:
    serdes_type = f"{SerDesError.__module__}.{SerDesError.__qualname__}"
    result: BatchResult[Any] = BatchResult(
        [BatchItem(0, F, error=ErrorObject("bad", serdes_type))], R.ALL_COMPLETED
    )
    with pytest.raises(SerDesError):
        result.throw_if_error()


def test_throw_if_error_without_error_object() -> None:
    result: BatchResult[Any] = BatchResult([BatchItem(0, S, 1), BatchItem(1, F)], R.ALL_COMPLETED)
    with pytest.raises(ChildContextError, match="Batch item 1 failed without an ErrorObject"):
        result.throw_if_error()


def test_throw_if_error_for_custom_failure_without_failed_items() -> None:
    result: BatchResult[int] = BatchResult([BatchItem(0, S, 1), BatchItem(1, ST)], R.CUSTOM_COMPLETION_FAILED)
    with pytest.raises(BatchCompletionError) as caught:
        result.throw_if_error()
    assert caught.value.completion_reason is R.CUSTOM_COMPLETION_FAILED
    assert "CUSTOM_COMPLETION_FAILED" in str(caught.value)


def test_throw_if_error_prefers_a_failed_item_over_the_custom_failure() -> None:
    result: BatchResult[Any] = BatchResult([BatchItem(0, F, error=BOOM_B)], R.CUSTOM_COMPLETION_FAILED)
    with pytest.raises(ChildContextError, match="b"):
        result.throw_if_error()


@pytest.mark.parametrize("reason", [r for r in R if r is not R.CUSTOM_COMPLETION_FAILED])
def test_throw_if_error_is_silent_without_failures(reason: CompletionReason) -> None:
    BatchResult([BatchItem(0, S, 1), BatchItem(1, ST)], reason).throw_if_error()


def test_failure_tolerance_exceeded_does_not_raise_by_itself() -> None:
    result: BatchResult[Any] = BatchResult(
        [BatchItem(0, S, "ok"), BatchItem(1, F, error=BOOM_A)], R.FAILURE_TOLERANCE_EXCEEDED
    )
    assert result.status is F  # 8-6 projection: FAILED / FAILURE_TOLERANCE_EXCEEDED / 1 / 1 / 2
    assert (result.success_count, result.failure_count, result.total_count) == (1, 1, 2)
    with pytest.raises(ChildContextError):
        result.throw_if_error()


# ------------------------------------------------------------------- dict round trip


def test_item_to_dict_uses_wire_error_json() -> None:
    assert BatchItem(1, F, error=BOOM_A, name="n").to_dict() == {
        "index": 1,
        "status": "FAILED",
        "result": None,
        "error": {"ErrorMessage": "a", "ErrorType": "ValueError", "StackTrace": ["line 1"]},
        "name": "n",
    }
    assert "name" not in BatchItem(0, S, 5).to_dict()


def test_result_dict_round_trip() -> None:
    result = _mixed()
    data = result.to_dict()
    assert data["completionReason"] == "ALL_COMPLETED"
    assert [item["status"] for item in data["all"]] == [
        "SUCCEEDED",
        "FAILED",
        "SUCCEEDED",
        "STARTED",
        "FAILED",
    ]
    assert BatchResult.from_dict(data) == result


def test_from_dict_reads_the_official_sdk_shape() -> None:
    official = {
        "all": [
            {"index": 0, "status": "SUCCEEDED", "result": {"k": "v"}, "error": None},
            {
                "index": 1,
                "status": "FAILED",
                "result": None,
                "error": {"ErrorType": "ValueError", "ErrorMessage": "x"},
            },
        ],
        "completionReason": "FAILURE_TOLERANCE_EXCEEDED",
    }
    result: BatchResult[Any] = BatchResult.from_dict(official)
    assert result.all == [
        BatchItem(0, S, {"k": "v"}),
        BatchItem(1, F, error=ErrorObject(error_message="x", error_type="ValueError")),
    ]
    assert result.completion_reason is R.FAILURE_TOLERANCE_EXCEEDED


def test_from_dict_infers_a_missing_reason(caplog: pytest.LogCaptureFixture) -> None:
    data = {"all": [{"index": 0, "status": "SUCCEEDED"}, {"index": 1, "status": "FAILED"}]}
    with caplog.at_level(logging.WARNING, logger="perdure.sdk.batch"):
        fail_fast: BatchResult[Any] = BatchResult.from_dict(data)
    assert fail_fast.completion_reason is R.FAILURE_TOLERANCE_EXCEEDED
    assert "inferred FAILURE_TOLERANCE_EXCEEDED" in caplog.text
    assert BatchResult.from_dict(data, CompletionConfig.all_completed()).completion_reason is R.ALL_COMPLETED
    started = {"all": [{"index": 0, "status": "SUCCEEDED"}, {"index": 1, "status": "STARTED"}]}
    assert (
        BatchResult.from_dict(started, CompletionConfig(min_successful=1)).completion_reason
        is R.MIN_SUCCESSFUL_REACHED
    )


def test_from_items_passes_the_predicate_a_snapshot() -> None:
    seen: list[CompletionStatus] = []

    def predicate(status: CompletionStatus) -> Any:
        seen.append(status)
        return complete_batch(CompletionOutcome.FAILED) if status.failure_count else continue_batch()

    items: list[BatchItem[Any]] = [BatchItem(0, S, 1), BatchItem(1, F)]
    result = BatchResult.from_items(items, CompletionConfig(should_complete=predicate))
    assert result.completion_reason is R.CUSTOM_COMPLETION_FAILED
    assert [item.status for item in seen[0].items] == [S, F]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"all": [{"index": 0, "status": "RUNNING"}], "completionReason": "ALL_COMPLETED"},
            "unknown batch item status",
        ),
        ({"all": [], "completionReason": "SOMETHING"}, "unknown completion reason"),
    ],
)
def test_from_dict_rejects_unknown_strings(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BatchResult.from_dict(data)


def test_batch_errors_answer_to_the_official_sdk_names() -> None:
    """Code written for the official SDK reads an item's error as `error.type`, `.message`,
    `.data` and `to_dict()`; perdure's ErrorObject answers to those names too."""
    error = ErrorObject(error_message="bad", error_type="ValueError", error_data="{}", stack_trace=("a", "b"))
    item: BatchItem[int] = BatchItem(0, BatchItemStatus.FAILED, error=error)
    assert item.error is not None
    assert (item.error.type, item.error.message, item.error.data) == ("ValueError", "bad", "{}")
    wire = {"ErrorMessage": "bad", "ErrorType": "ValueError", "ErrorData": "{}", "StackTrace": ["a", "b"]}
    assert item.error.to_dict() == wire
    assert ErrorObject.from_dict(wire) == error
    assert ErrorObject(error_type="KeyError").to_dict() == {"ErrorType": "KeyError"}
