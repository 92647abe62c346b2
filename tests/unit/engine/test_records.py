"""The store's hand-written event-details encoder agrees with the wire codec."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perdure.engine.store.records import details_from_json, details_to_json, from_us, to_us
from perdure.wire.codec import to_wire
from perdure.wire.types import ErrorObject, EventDetails, EventError, EventInput, EventResult, RetryDetails

NOW = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


@pytest.mark.parametrize(
    "details",
    [
        EventDetails(),
        EventDetails(result=EventResult('"x"')),
        EventDetails(result=EventResult(None)),
        EventDetails(
            error=EventError(ErrorObject("m", "T", "d", ("a", "b"))), retry_details=RetryDetails(1, 2)
        ),
        EventDetails(error=EventError(None, truncated=True)),
        EventDetails(result=EventResult("1"), retry_details=RetryDetails(current_attempt=3)),
        EventDetails(retry_details=RetryDetails(next_attempt_delay_seconds=4)),
        EventDetails(retry_details=RetryDetails()),
        EventDetails(input=EventInput("\u00e9"), execution_timeout=5),
        EventDetails(duration=3, scheduled_end_timestamp=NOW),
        EventDetails(
            start_timestamp=NOW, end_timestamp=NOW, request_id="r", error=EventError(ErrorObject("x", "E"))
        ),
    ],
)
def test_details_encoding_matches_the_codec(details: EventDetails) -> None:
    text = details_to_json(details)
    assert details_from_json(text) == details  # exact, timestamps included
    if details.start_timestamp is None and details.scheduled_end_timestamp is None:
        assert json.loads(text) == json.loads(json.dumps(to_wire(details)))


def test_microsecond_timestamps_are_exact() -> None:
    assert from_us(to_us(NOW)) == NOW


@settings(max_examples=200, deadline=None)
@given(st.none() | st.text(), st.booleans())
def test_a_result_only_event_is_written_as_the_generic_encoder_writes_it(
    payload: str | None, truncated: bool
) -> None:
    # Most events carry no details or only a result: those are written from a template.
    result: dict[str, object] = {} if payload is None else {"Payload": payload}
    result["Truncated"] = truncated
    text = details_to_json(EventDetails(result=EventResult(payload, truncated)))
    assert text == json.dumps({"Result": result}, separators=(",", ":"), ensure_ascii=False)
    assert details_to_json(EventDetails()) == "{}"
