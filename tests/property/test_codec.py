"""Property: the codec round-trips every wire type, in every timestamp format.

Strategies are derived from each dataclass's type hints, so a new wire type or member is
covered without touching this file. Timestamps are UTC at millisecond precision (what the
invocation event can carry). History events get details holding exactly the members their
event type defines, which is what the codec promises to keep.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perdure.wire import types as wire
from perdure.wire.codec import dumps, from_wire, loads, to_wire

FORMATS = ("epoch_millis", "epoch_seconds", "datetime")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
timestamps = st.integers(
    min_value=int((datetime(1971, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds() * 1000),
    max_value=int((datetime(2200, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds() * 1000),
).map(lambda ms: _EPOCH + timedelta(milliseconds=ms))

WIRE_TYPES: list[type[Any]] = sorted(
    (
        obj
        for obj in vars(wire).values()
        if isinstance(obj, type)
        and dataclasses.is_dataclass(obj)
        and obj.__module__ == wire.__name__
        and obj is not wire.DurableExecutionArn  # text, not JSON: tested below
    ),
    key=lambda cls: cls.__name__,
)


def strategy_for(tp: Any) -> st.SearchStrategy[Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = st.one_of(*(strategy_for(a) for a in args))
        return st.none() | inner if type(None) in typing.get_args(tp) else inner
    if origin is tuple:
        return st.lists(strategy_for(typing.get_args(tp)[0]), max_size=3).map(tuple)
    if tp is wire.Event:
        return events()
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return dataclass_strategy(tp)
        if issubclass(tp, Enum):
            return st.sampled_from(list(tp))
        if issubclass(tp, datetime):
            return timestamps
        if issubclass(tp, bool):
            return st.booleans()
        if issubclass(tp, int):
            return st.integers(min_value=0, max_value=2**53)
        if issubclass(tp, bytes):
            return st.binary(max_size=64)
        if issubclass(tp, str):
            return st.text(max_size=24)
    raise TypeError(f"no strategy for {tp!r}")  # a new kind of member: extend strategy_for


def dataclass_strategy(cls: type[Any], only: tuple[str, ...] | None = None) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    fields = {
        f.name: strategy_for(hints[f.name])
        for f in dataclasses.fields(cls)
        if (only is None or f.name in only) and not (cls is wire.Event and f.name == "details")
    }
    return st.builds(cls, **fields)


@st.composite
def events(draw: st.DrawFn) -> wire.Event:
    event_type = draw(st.sampled_from(list(wire.EventType)))
    details = draw(dataclass_strategy(wire.EventDetails, only=wire.EVENT_DETAIL_FIELDS[event_type]))
    base = draw(dataclass_strategy(wire.Event))
    return dataclasses.replace(base, event_type=event_type, details=details)


def _id(cls: type[Any]) -> str:
    return cls.__name__


def test_every_wire_type_is_covered() -> None:
    names = {cls.__name__ for cls in WIRE_TYPES}
    assert {
        "Operation",
        "OperationUpdate",
        "ErrorObject",
        "Event",
        "InvocationInput",
        "InvocationOutput",
    } <= names
    assert {"CheckpointDurableExecutionRequest", "GetDurableExecutionStateResponse"} <= names


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cls", WIRE_TYPES, ids=_id)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_round_trip(cls: type[Any], fmt: Any, data: st.DataObject) -> None:
    value = data.draw(strategy_for(cls))
    assert from_wire(cls, to_wire(value, timestamps=fmt), timestamps=fmt) == value


@pytest.mark.parametrize("fmt", ("epoch_millis", "epoch_seconds"))
@pytest.mark.parametrize("cls", WIRE_TYPES, ids=_id)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_json_text_round_trip(cls: type[Any], fmt: Any, data: st.DataObject) -> None:
    value = data.draw(strategy_for(cls))
    text = dumps(value, timestamps=fmt)
    json.loads(text)  # plain JSON, nothing Python-specific
    assert loads(cls, text, timestamps=fmt) == value


@settings(max_examples=60, deadline=None)
@given(value=dataclass_strategy(wire.Operation))
def test_epoch_millis_are_integers(value: wire.Operation) -> None:
    encoded = to_wire(value, timestamps="epoch_millis")
    if value.start_timestamp is None:  # only a reader meets one (the service always sets it)
        assert "StartTimestamp" not in encoded
        return
    assert isinstance(encoded["StartTimestamp"], int)
    assert encoded["StartTimestamp"] == int((value.start_timestamp - _EPOCH) / timedelta(milliseconds=1))


@settings(max_examples=60, deadline=None)
@given(value=events())
def test_event_details_hold_exactly_their_members(value: wire.Event) -> None:
    encoded = to_wire(value)
    key = value.event_type.details_key
    assert key in encoded
    assert [k for k in encoded if k.endswith("Details")] == [key]
    allowed = {
        "".join(p.title() for p in name.split("_")) for name in wire.EVENT_DETAIL_FIELDS[value.event_type]
    }
    assert set(encoded[key]) <= allowed


_token = st.from_regex(r"[a-zA-Z0-9_-]{1,20}", fullmatch=True)


@settings(max_examples=100, deadline=None)
@given(
    partition=st.sampled_from(["aws", "aws-cn", "aws-us-gov"]),
    region=st.sampled_from(["us-east-1", "eu-west-3", "ap-southeast-2"]),
    account=st.from_regex(r"\d{12}", fullmatch=True),
    function=_token,
    version=st.sampled_from(["$LATEST", "$LATEST.PUBLISHED", "1", "42"]),
    name=_token,
    invocation=_token,
)
def test_arn_round_trip(
    partition: str, region: str, account: str, function: str, version: str, name: str, invocation: str
) -> None:
    arn = wire.DurableExecutionArn(partition, region, account, function, version, name, invocation)
    assert wire.DurableExecutionArn.parse(str(arn)) == arn
    assert str(arn).startswith(arn.function_arn + "/durable-execution/")
