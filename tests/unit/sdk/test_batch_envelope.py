"""The batch envelope: the summary a map/parallel checkpoints when its result is too large.

Format in docs/parallel-and-map.md. Replay rebuilds the exact BatchResult from it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from perdure.sdk.batch import (
    BatchEnvelope,
    BatchItem,
    BatchResult,
    BatchType,
    EnvelopeItem,
    envelope_summary_generator,
)
from perdure.sdk.completion import BatchItemStatus, CompletionReason, NestingType
from perdure.sdk.errors import ValidationError
from perdure.wire.limits import MAX_OPERATION_PAYLOAD_BYTES
from perdure.wire.types import ErrorObject

S, F, ST = BatchItemStatus.SUCCEEDED, BatchItemStatus.FAILED, BatchItemStatus.STARTED
R = CompletionReason
ERR = ErrorObject("boom", "ValueError", '{"d": 1}', ("at x", "at y"))


def _result() -> BatchResult[Any]:
    return BatchResult(
        [
            BatchItem(0, S, "r0", name="map-item-0"),
            BatchItem(1, F, error=ERR, name="Order-7"),
            BatchItem(2, S, {"n": [1, 2]}, name="map-item-2"),
            BatchItem(3, ST, name="map-item-3"),
        ],
        R.MIN_SUCCESSFUL_REACHED,
    )


def _dumps(item: BatchItem[Any]) -> str:
    return json.dumps(item.result)


def _rebuild(envelope: BatchEnvelope) -> BatchResult[Any]:
    def result_of(item: EnvelopeItem) -> Any:
        assert item.result_recorded, "the test recorded every result"
        return json.loads(item.result_payload or "null")

    def error_of(item: EnvelopeItem) -> ErrorObject | None:
        raise AssertionError("the test recorded every error")

    return envelope.rebuild(result_of=result_of, error_of=error_of)


def test_envelope_has_the_official_fields() -> None:
    payload = BatchEnvelope.encode(_result(), BatchType.MAP, summary="4 orders")
    data = json.loads(payload)
    assert {k: v for k, v in data.items() if k != "perdure"} == {
        "type": "MapResult",
        "totalCount": 4,
        "completionReason": "MIN_SUCCESSFUL_REACHED",
        "startedIndexes": [3],
        "startedCount": 1,
        "successCount": 2,
        "failureCount": 1,
        "status": "FAILED",
        "summary": "4 orders",
    }
    assert list(data)[:3] == ["type", "totalCount", "completionReason"]


def test_envelope_records_the_shorter_index_list() -> None:
    mostly_started: BatchResult[Any] = BatchResult(
        [BatchItem(0, S, 1), BatchItem(1, ST), BatchItem(2, ST)], R.MIN_SUCCESSFUL_REACHED
    )
    data = json.loads(BatchEnvelope.encode(mostly_started, BatchType.PARALLEL))
    assert data["completedIndexes"] == [0]
    assert "startedIndexes" not in data
    assert json.loads(BatchEnvelope.encode(_result(), BatchType.MAP))["startedIndexes"] == [3]


def test_envelope_perdure_extension() -> None:
    payload = BatchEnvelope.encode(
        _result(), BatchType.MAP, declared_count=6, nesting_type=NestingType.FLAT, serialize_result=_dumps
    )
    assert json.loads(payload)["perdure"] == {
        "v": 1,
        "declaredCount": 6,
        "nesting": "FLAT",
        "failed": [1],
        "names": {"1": "Order-7"},  # default names are not repeated
        "errors": {
            "1": {
                "ErrorMessage": "boom",
                "ErrorType": "ValueError",
                "ErrorData": '{"d": 1}',
                "StackTrace": ["at x", "at y"],
            }
        },
        "results": {"0": '"r0"', "2": '{"n": [1, 2]}'},
    }


def test_round_trip_rebuilds_the_exact_result() -> None:
    payload = BatchEnvelope.encode(_result(), BatchType.MAP, declared_count=6, serialize_result=_dumps)
    envelope = BatchEnvelope.decode(payload)
    assert envelope is not None
    assert (envelope.batch_type, envelope.declared_count, envelope.nesting_type) == (BatchType.MAP, 6, None)
    assert _rebuild(envelope) == _result()


def test_round_trip_of_an_empty_batch() -> None:
    empty: BatchResult[Any] = BatchResult([], R.ALL_COMPLETED)
    envelope = BatchEnvelope.decode(BatchEnvelope.encode(empty, BatchType.PARALLEL, declared_count=0))
    assert envelope is not None
    assert _rebuild(envelope) == empty


def test_recorded_none_error_and_none_name_round_trip() -> None:
    result: BatchResult[Any] = BatchResult(
        [BatchItem(0, F, error=None, name=None), BatchItem(1, S, None)], R.ALL_COMPLETED
    )
    envelope = BatchEnvelope.decode(BatchEnvelope.encode(result, BatchType.PARALLEL, serialize_result=_dumps))
    assert envelope is not None
    assert envelope.items[0].error_recorded
    assert envelope.items[0].error is None
    assert _rebuild(envelope) == result


def test_indexes_that_are_not_the_admitted_prefix_round_trip() -> None:
    result: BatchResult[Any] = BatchResult(
        [BatchItem(2, S, "x"), BatchItem(5, ST), BatchItem(7, F, error=ERR)], R.ALL_COMPLETED
    )
    payload = BatchEnvelope.encode(result, BatchType.PARALLEL, serialize_result=_dumps)
    assert json.loads(payload)["perdure"]["indexes"] == [2, 5, 7]
    envelope = BatchEnvelope.decode(payload)
    assert envelope is not None
    assert _rebuild(envelope) == result


def test_user_summary_is_stored_verbatim() -> None:
    generate = envelope_summary_generator(BatchType.MAP, lambda result: f"{result.success_count} ok")
    envelope = BatchEnvelope.decode(generate(_result()))
    assert envelope is not None
    assert envelope.summary == "2 ok"


def test_user_summary_generator_errors_propagate() -> None:
    def broken(result: BatchResult[Any]) -> str:
        raise RuntimeError("no summary")

    with pytest.raises(RuntimeError, match="no summary"):
        envelope_summary_generator(BatchType.MAP, broken)(_result())


# --------------------------------------------------------------------------- budget


def test_results_that_do_not_fit_are_left_to_replay() -> None:  # 9-16: 4 x ~70 KB
    big = "x" * 70_000
    result: BatchResult[Any] = BatchResult(
        [BatchItem(i, S, big, name=f"map-item-{i}") for i in range(4)], R.ALL_COMPLETED
    )
    payload = BatchEnvelope.encode(result, BatchType.MAP, serialize_result=_dumps)
    assert len(payload.encode()) <= MAX_OPERATION_PAYLOAD_BYTES
    envelope = BatchEnvelope.decode(payload)
    assert envelope is not None
    recorded = [item.result_recorded for item in envelope.items]
    assert recorded == [True, True, True, False]
    rebuilt = envelope.rebuild(
        result_of=lambda item: json.loads(item.result_payload or "") if item.result_recorded else big,
        error_of=lambda item: None,
    )
    assert rebuilt == result


@pytest.mark.parametrize("max_bytes", [200, 400, 700, 1200, 5000])
def test_optional_parts_respect_the_budget(max_bytes: int) -> None:
    result: BatchResult[Any] = BatchResult(
        [
            BatchItem(
                i,
                F if i % 3 == 0 else S,
                None if i % 3 == 0 else "é" * 20,
                ERR if i % 3 == 0 else None,
                f"n{i}",
            )
            for i in range(12)
        ],
        R.ALL_COMPLETED,
    )
    mandatory = len(BatchEnvelope.encode(result, BatchType.PARALLEL, max_bytes=0))
    payload = BatchEnvelope.encode(result, BatchType.PARALLEL, serialize_result=_dumps, max_bytes=max_bytes)
    assert payload.isascii()
    assert len(payload) <= max(max_bytes, mandatory)
    envelope = BatchEnvelope.decode(payload)
    assert envelope is not None
    rebuilt = envelope.rebuild(
        result_of=lambda item: json.loads(item.result_payload or "") if item.result_recorded else "é" * 20,
        error_of=lambda item: ERR,
    )
    expected = result if envelope.items[0].name is not None else _without_names(result)
    assert rebuilt == expected


def _without_names(result: BatchResult[Any]) -> BatchResult[Any]:
    return BatchResult(
        [BatchItem(i.index, i.status, i.result, i.error) for i in result.all], result.completion_reason
    )


def test_names_are_dropped_as_a_whole_when_they_do_not_fit() -> None:
    result: BatchResult[Any] = BatchResult(
        [BatchItem(i, S, i, name="n" * 50) for i in range(10)], R.ALL_COMPLETED
    )
    payload = BatchEnvelope.encode(result, BatchType.MAP, max_bytes=400)
    assert "names" not in json.loads(payload)["perdure"]
    envelope = BatchEnvelope.decode(payload)
    assert envelope is not None
    assert all(item.name is None for item in envelope.items)


# -------------------------------------------------------------------------- decoding


def test_official_sdk_envelope_decodes_with_undetermined_statuses() -> None:
    official = (
        '{"type": "MapResult", "totalCount": 3, "completionReason": "ALL_COMPLETED", "startedIndexes": [], '
        '"startedCount": 0, "successCount": 2, "failureCount": 1, "status": "FAILED"}'
    )
    envelope = BatchEnvelope.decode(official)
    assert envelope is not None
    assert [item.status for item in envelope.items] == [None, None, None]
    assert all(item.name is None and not item.error_recorded for item in envelope.items)
    with pytest.raises(ValidationError, match="does not record the status of item 0"):
        envelope.rebuild(result_of=lambda item: None, error_of=lambda item: None)
    from_checkpoints = {0: S, 1: F, 2: S}
    rebuilt = envelope.rebuild(
        result_of=lambda item: f"r{item.index}",
        error_of=lambda item: ERR,
        status_of=lambda item: from_checkpoints[item.index],
    )
    assert rebuilt == BatchResult(
        [BatchItem(0, S, "r0"), BatchItem(1, F, error=ERR), BatchItem(2, S, "r2")], R.ALL_COMPLETED
    )


def test_official_completed_indexes_form() -> None:
    payload = '{"type": "ParallelResult", "totalCount": 3, "completionReason": "MIN_SUCCESSFUL_REACHED", "completedIndexes": [1]}'
    envelope = BatchEnvelope.decode(payload)
    assert envelope is not None
    assert [item.status for item in envelope.items] == [ST, None, ST]


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "",
        "not json",
        "[]",
        '"OPSERDE:X,Y"',
        '{"type": "MapResult"}',
        '{"type": "Other", "totalCount": 0, "completionReason": "ALL_COMPLETED", "startedIndexes": []}',
        '{"type": "MapResult", "totalCount": 1, "completionReason": "NOPE", "startedIndexes": []}',
        '{"type": "MapResult", "totalCount": -1, "completionReason": "ALL_COMPLETED", "startedIndexes": []}',
        '{"type": "MapResult", "totalCount": true, "completionReason": "ALL_COMPLETED", "startedIndexes": []}',
        '{"type": "MapResult", "totalCount": 2, "completionReason": "ALL_COMPLETED"}',
        '{"type": "MapResult", "totalCount": 2, "completionReason": "ALL_COMPLETED", "startedIndexes": [2]}',
        '{"type": "MapResult", "totalCount": 2, "completionReason": "ALL_COMPLETED", "startedIndexes": [false]}',
        '{"type": "MapResult", "totalCount": 2, "completionReason": "ALL_COMPLETED", "startedIndexes": "0"}',
        '{"type": "MapResult", "totalCount": 1, "completionReason": "ALL_COMPLETED", "startedIndexes": [0],'
        ' "perdure": {"failed": [0]}}',
        '{"type": "MapResult", "totalCount": 2, "completionReason": "ALL_COMPLETED", "startedIndexes": [],'
        ' "perdure": {"indexes": [1, 1]}}',
        '{"type": "MapResult", "totalCount": 1, "completionReason": "ALL_COMPLETED", "startedIndexes": [],'
        ' "perdure": {"names": []}}',
        '{"type": "MapResult", "totalCount": 1, "completionReason": "ALL_COMPLETED", "startedIndexes": [],'
        ' "perdure": {"nesting": "DEEP"}}',
    ],
)
def test_invalid_envelopes_decode_to_none(payload: str | None) -> None:
    assert BatchEnvelope.decode(payload) is None


def test_unknown_keys_are_ignored() -> None:
    payload = BatchEnvelope.encode(_result(), BatchType.MAP, serialize_result=_dumps)
    data = json.loads(payload)
    data["future"] = {"x": 1}
    data["perdure"]["later"] = True
    envelope = BatchEnvelope.decode(json.dumps(data))
    assert envelope is not None
    assert _rebuild(envelope) == _result()
