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


small = st.none() | st.integers(min_value=0, max_value=10**6)


@settings(max_examples=200, deadline=None)
@given(st.none() | st.tuples(st.none() | st.text(), st.booleans()), st.none() | st.tuples(small, small))
def test_a_result_and_retry_event_is_written_as_the_generic_encoder_writes_it(
    result: tuple[str | None, bool] | None, retry: tuple[int | None, int | None] | None
) -> None:
    # Most events carry nothing, a result, retry details or both: those are written from
    # templates, which must give exactly the encoder's text.
    expected: dict[str, object] = {}
    if result is not None:
        payload, truncated = result
        expected["Result"] = {} if payload is None else {"Payload": payload}
        expected["Result"]["Truncated"] = truncated  # type: ignore[index]
    if retry is not None:
        names = ("CurrentAttempt", "NextAttemptDelaySeconds")
        expected["RetryDetails"] = {name: v for name, v in zip(names, retry, strict=True) if v is not None}
    details = EventDetails(
        result=None if result is None else EventResult(*result),
        retry_details=None if retry is None else RetryDetails(*retry),
    )
    text = details_to_json(details)
    assert text == json.dumps(expected, separators=(",", ":"), ensure_ascii=False)
    assert details_from_json(text) == details
