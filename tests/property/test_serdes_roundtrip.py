"""Property: the default serdes round-trips every value it accepts, and primitives stay plain JSON."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from perdure.sdk.batch import BatchItem, BatchResult
from perdure.sdk.completion import BatchItemStatus, CompletionReason
from perdure.sdk.serdes import (
    EXTENDED_TYPES_SERDES,
    JsonSerDes,
    SerDesContext,
    _encode,
    deserialize,
    round_trip,
    serialize,
)
from perdure.wire.types import ErrorObject

CTX = SerDesContext("op", "arn")

finite = st.floats(allow_nan=False)
# A datetime travels as its ISO text: the offset survives, a zone *name* does not (named
# zones are checked separately below, as the same instant and offset). Offsets are whole
# seconds, as every zone's are (old local mean times such as +00:09:21 included): CPython
# 3.11's `fromisoformat` reads "+00:00:00.000001", an offset under a second with
# microseconds, as UTC.
fixed_offsets = st.builds(
    timezone,
    st.integers(min_value=-(24 * 3600 - 61), max_value=24 * 3600 - 61).map(lambda s: timedelta(seconds=s)),
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    finite,
    st.text(),
    st.binary(max_size=16),
    st.uuids(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.datetimes(timezones=st.none() | fixed_offsets),
    st.dates(),
)
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_extended_round_trip(value: Any) -> None:
    text = EXTENDED_TYPES_SERDES.serialize(value, CTX)
    assert EXTENDED_TYPES_SERDES.deserialize(text, CTX) == value
    assert EXTENDED_TYPES_SERDES.serialize(EXTENDED_TYPES_SERDES.deserialize(text, CTX), CTX) == text


class Level(IntEnum):
    LOW = 1


class Colour(StrEnum):
    RED = "red"


@settings(max_examples=200, deadline=None)
@given(values | st.sampled_from([Level.LOW, Colour.RED, True, -0.0, math.inf, 2**80]))
def test_the_first_run_value_is_what_replay_returns(value: Any) -> None:
    # A step returns `round_trip(...)` on its first run and `deserialize(payload)` on replay;
    # the shortcut for scalars must not be told apart (type included; an enum member comes
    # back as its plain value, as replay gives it).
    payload = serialize(None, value, "op", "arn")
    first, replayed = round_trip(None, value, payload, "op", "arn"), deserialize(None, payload, "op", "arn")
    assert first == replayed and type(first) is type(replayed)
    assert repr(first) == repr(replayed)


primitives = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), finite, st.text()),
    lambda children: st.lists(children, max_size=4),
    max_leaves=10,
)


@settings(max_examples=100, deadline=None)
@given(primitives)
def test_primitives_are_plain_json(value: Any) -> None:
    text = EXTENDED_TYPES_SERDES.serialize(value, CTX)
    assert json.loads(text) == value or (isinstance(value, float) and math.isnan(value))
    assert text == json.dumps(value, separators=(",", ":"))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), finite, st.text()),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_json_round_trip(value: Any) -> None:
    serdes: JsonSerDes[Any] = JsonSerDes()
    assert serdes.deserialize(serdes.serialize(value, CTX), CTX) == value


@settings(max_examples=100, deadline=None)
@given(st.datetimes(timezones=st.timezones()))
def test_named_zone_datetimes_keep_their_instant_and_offset(value: datetime) -> None:
    back = EXTENDED_TYPES_SERDES.deserialize(EXTENDED_TYPES_SERDES.serialize(value, CTX), CTX)
    assert back.utcoffset() == value.utcoffset()
    assert back.replace(tzinfo=None) == value.replace(tzinfo=None)


errors = st.none() | st.builds(
    ErrorObject,
    error_message=st.none() | st.text(max_size=20),
    error_type=st.none() | st.text(max_size=20),
    error_data=st.none() | st.text(max_size=20),
    stack_trace=st.none() | st.lists(st.text(max_size=10), max_size=2).map(tuple),
)
items = st.builds(
    BatchItem,
    index=st.integers(min_value=0, max_value=10**6),
    status=st.sampled_from(list(BatchItemStatus)),
    result=values | st.sampled_from([True, False, 2**80, -0.0, 'é\\"\n']),
    error=errors,
    name=st.none() | st.text(max_size=12),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(items, max_size=6), st.sampled_from(list(CompletionReason)))
def test_a_batch_result_is_written_as_the_generic_envelope_writes_it(
    all_items: list[BatchItem[Any]], reason: CompletionReason
) -> None:
    # serialize() writes a BatchResult from templates (it is a map's result: 1,000 items and
    # more); the text must be exactly the generic envelope's, which replay and the official
    # SDK read.
    batch = BatchResult(all=all_items, completion_reason=reason)
    text = EXTENDED_TYPES_SERDES.serialize(batch, CTX)
    assert text == json.dumps(_encode(batch), separators=(",", ":"))
    assert EXTENDED_TYPES_SERDES.deserialize(text, CTX) == batch
