"""Properties of the batch envelope and the dict form: both rebuild the BatchResult exactly."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from perdure.sdk.batch import BatchEnvelope, BatchItem, BatchResult, BatchType, EnvelopeItem
from perdure.sdk.completion import BatchItemStatus, CompletionReason, NestingType
from perdure.sdk.serdes import ExtendedTypeSerDes
from perdure.wire.types import ErrorObject

text = st.text(max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
errors = st.none() | st.builds(
    ErrorObject,
    error_message=st.none() | text,
    error_type=st.none() | st.sampled_from(["ValueError", "mod.CustomError"]),
    error_data=st.none() | text,
    stack_trace=st.none() | st.lists(text, max_size=3).map(tuple),
)


@st.composite
def batch_results(draw: st.DrawFn) -> tuple[BatchResult[Any], BatchType]:
    batch_type = draw(st.sampled_from(BatchType))
    count = draw(st.integers(0, 12))
    if draw(st.booleans()):
        indexes = list(range(count))  # admitted in index order: the realistic case
    else:
        indexes = sorted(draw(st.sets(st.integers(0, 40), min_size=count, max_size=count)))
    items: list[BatchItem[Any]] = []
    for index in indexes:
        status = draw(st.sampled_from(BatchItemStatus))
        name = draw(st.sampled_from([f"{batch_type.name_prefix}{index}", None]) | text)
        if status is BatchItemStatus.SUCCEEDED:
            items.append(BatchItem(index, status, draw(json_values), None, name))
        elif status is BatchItemStatus.FAILED:
            items.append(BatchItem(index, status, None, draw(errors), name))
        else:
            items.append(BatchItem(index, status, None, None, name))
    return BatchResult(items, draw(st.sampled_from(CompletionReason))), batch_type


def _serialize(item: BatchItem[Any]) -> str:
    return json.dumps(item.result)


@given(
    batch_results(),
    st.none() | text,
    st.none() | st.integers(0, 100),
    st.none() | st.sampled_from(NestingType),
)
def test_envelope_round_trip_is_exact(
    case: tuple[BatchResult[Any], BatchType],
    summary: str | None,
    declared: int | None,
    nesting: NestingType | None,
) -> None:
    result, batch_type = case
    payload = BatchEnvelope.encode(
        result,
        batch_type,
        summary=summary,
        declared_count=declared,
        nesting_type=nesting,
        serialize_result=_serialize,
    )
    envelope = BatchEnvelope.decode(payload)
    assert envelope is not None
    assert (envelope.batch_type, envelope.summary, envelope.declared_count, envelope.nesting_type) == (
        batch_type,
        summary,
        declared,
        nesting,
    )

    def result_of(item: EnvelopeItem) -> Any:
        assert item.result_recorded
        return json.loads(item.result_payload or "")

    def error_of(item: EnvelopeItem) -> ErrorObject | None:
        raise AssertionError(f"error of item {item.index} not recorded")

    assert envelope.rebuild(result_of=result_of, error_of=error_of) == result


@given(batch_results(), st.integers(0, 3000))
def test_envelope_within_a_budget_still_rebuilds_exactly(
    case: tuple[BatchResult[Any], BatchType], budget: int
) -> None:
    """What does not fit is left to the branch checkpoints; the statuses and reason always fit."""
    result, batch_type = case
    originals = {item.index: item for item in result.all}
    payload = BatchEnvelope.encode(result, batch_type, serialize_result=_serialize, max_bytes=budget)
    mandatory = BatchEnvelope.encode(result, batch_type, max_bytes=0)
    assert len(payload.encode()) <= max(budget, len(mandatory))
    envelope = BatchEnvelope.decode(payload)
    assert envelope is not None
    rebuilt = envelope.rebuild(
        result_of=lambda item: (
            json.loads(item.result_payload or "") if item.result_recorded else originals[item.index].result
        ),
        error_of=lambda item: originals[item.index].error,
    )
    if "names" not in json.loads(payload)["perdure"]:
        # Names did not fit: replay takes them from the current item namer instead.
        rebuilt = BatchResult(
            [BatchItem(i.index, i.status, i.result, i.error, originals[i.index].name) for i in rebuilt.all],
            rebuilt.completion_reason,
        )
    assert rebuilt == result


@given(batch_results())
def test_dict_round_trip_through_json_is_exact(case: tuple[BatchResult[Any], BatchType]) -> None:
    result, _ = case
    assert BatchResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


@given(batch_results())
def test_default_serdes_round_trip_is_exact(case: tuple[BatchResult[Any], BatchType]) -> None:
    """The small-result path: the batch checkpoints `ExtendedTypeSerDes(BatchResult)`."""
    result, _ = case
    serdes = ExtendedTypeSerDes()
    assert serdes.deserialize(serdes.serialize(result)) == result
