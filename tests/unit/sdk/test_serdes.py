"""perdure.sdk.serdes: the extended wire format, JSON and pass-through serdes, error wrapping."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from perdure.sdk.errors import RetryableSerDesError, SerDesError
from perdure.sdk.serdes import (
    EXTENDED_TYPES_SERDES,
    JsonSerDes,
    PassThroughSerDes,
    SerDes,
    SerDesContext,
    deserialize,
    serialize,
)

CTX = SerDesContext("op", "arn")


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (2, "2"),
        ("two", '"two"'),
        (None, "null"),
        ([1, 2], "[1,2]"),
        (True, "true"),
        (
            {"a": 1, "when": date(2024, 1, 2)},
            '{"t":"m","v":{"a":{"t":"i","v":1},"when":{"t":"D","v":"2024-01-02"}}}',
        ),
        ((1, "x"), '{"t":"t","v":[{"t":"i","v":1},{"t":"s","v":"x"}]}'),
        (b"hi", '{"t":"B","v":"aGk="}'),
        (Decimal("1.5"), '{"t":"d","v":"1.5"}'),
        ([1, {"k": None}], '{"t":"l","v":[{"t":"i","v":1},{"t":"m","v":{"k":{"t":"n","v":null}}}]}'),
    ],
)
def test_wire_format(value: Any, wire: str) -> None:
    assert EXTENDED_TYPES_SERDES.serialize(value, CTX) == wire
    assert EXTENDED_TYPES_SERDES.deserialize(wire, CTX) == value


@pytest.mark.parametrize(
    "value",
    [
        uuid.UUID(int=7),
        datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
        date(2020, 2, 29),
        {"nested": [(1, 2), {"b": b"\x00\xff"}], "f": 1.5},
        {"t": 1, "v": 2},
    ],
)
def test_round_trips(value: Any) -> None:
    assert EXTENDED_TYPES_SERDES.deserialize(EXTENDED_TYPES_SERDES.serialize(value, CTX), CTX) == value


def test_z_suffix_datetime_is_utc() -> None:
    assert EXTENDED_TYPES_SERDES.deserialize('{"t":"dt","v":"2024-01-01T00:00:00Z"}', CTX) == datetime(
        2024, 1, 1, tzinfo=UTC
    )


def test_unserializable_names_operation_and_type() -> None:
    class Thing:
        pass

    with pytest.raises(SerDesError) as info:
        serialize(None, {"x": Thing()}, "op-7", "arn")
    assert "op-7" in str(info.value) and "Thing" in str(info.value)


def test_malformed_envelope() -> None:
    with pytest.raises(SerDesError, match="op-1"):
        deserialize(None, '{"a": 1}', "op-1", "arn")
    with pytest.raises(SerDesError, match="unknown type tag"):
        deserialize(None, '{"t": "zz", "v": 1}', "op-1", "arn")


def test_tuple_keys_rejected() -> None:
    with pytest.raises(SerDesError):
        serialize(None, {(1, 2): 3}, "op", "arn")


def test_foreign_errors_are_wrapped_and_retryable_propagates() -> None:
    class Broken(SerDes[Any]):
        def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
            raise RuntimeError("disk")

        def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
            raise RetryableSerDesError("later")

    with pytest.raises(SerDesError, match="disk") as info:
        serialize(Broken(), 1, "op", "arn")
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(RetryableSerDesError):
        deserialize(Broken(), "1", "op", "arn")


def test_json_and_pass_through() -> None:
    json_serdes: JsonSerDes[Any] = JsonSerDes()
    assert json_serdes.serialize({"a": [1]}, CTX) == '{"a": [1]}'
    assert json_serdes.deserialize('{"a": [1]}', CTX) == {"a": [1]}
    raw: PassThroughSerDes[str] = PassThroughSerDes()
    assert raw.serialize("raw", CTX) == "raw"
    assert raw.deserialize("raw", CTX) == "raw"


def test_a_set_is_a_list_in_an_order_no_hash_seed_changes() -> None:
    # A result replay rebuilds (a virtual child's, ReplayChildren's) must encode to the same
    # text in every process; a set of strings iterates in an order each hash seed changes.
    code = (
        "from perdure.sdk.serdes import EXTENDED_TYPES_SERDES as S, SerDesContext\n"
        "print(S.serialize({'alpha', 'beta', 'gamma', 'delta', 'eps', ('x', 1), frozenset({'b', 'a'})},"
        " SerDesContext('op', 'arn')))"
    )
    texts = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(texts) == 1
    decoded = EXTENDED_TYPES_SERDES.deserialize(texts.pop(), CTX)
    assert type(decoded) is list and ["a", "b"] in decoded and ("x", 1) in decoded and "eps" in decoded
