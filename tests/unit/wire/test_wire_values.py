"""Wire values beside the codec: ARNs, enums, service errors and limits."""

from __future__ import annotations

import dataclasses
import json

import pytest

from perdure.wire import errors, limits
from perdure.wire.types import DurableExecutionArn, ErrorObject, OperationStatus

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:orders:7/durable-execution/order-1/3f2a"


def test_arn_parse_and_format() -> None:
    arn = DurableExecutionArn.parse(ARN)
    assert (arn.region, arn.function_name, arn.version, arn.execution_name, arn.invocation_id) == (
        "eu-west-1",
        "orders",
        "7",
        "order-1",
        "3f2a",
    )
    assert arn.function_arn == "arn:aws:lambda:eu-west-1:123456789012:function:orders:7"
    assert str(arn) == ARN


@pytest.mark.parametrize("text", ["3f2a/inv-1", ARN + "/extra", ARN.replace("123456789012", "1234")])
def test_arn_parse_rejects_non_arns(text: str) -> None:
    with pytest.raises(ValueError, match="not a durable execution ARN"):
        DurableExecutionArn.parse(text)


def test_terminal_statuses() -> None:
    terminal = {s for s in OperationStatus if s.is_terminal}
    assert {s.value for s in terminal} == {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "STOPPED"}


def test_values_are_frozen() -> None:
    error = ErrorObject(error_message="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        error.error_message = "y"  # type: ignore[misc]


def test_service_errors_carry_code_and_status() -> None:
    error = errors.service_error_for("InvalidParameterValueException", "Invalid checkpoint token")
    assert isinstance(error, errors.InvalidParameterValueError)
    assert isinstance(error, errors.PerdureError)
    assert (error.code, error.http_status, error.message) == (
        "InvalidParameterValueException",
        400,
        str(error),
    )
    assert not error.is_retryable
    assert errors.service_error_for("TooManyRequestsException", "slow down").is_retryable
    unknown = errors.service_error_for("KMSDisabledException", "x")
    assert type(unknown) is errors.ServiceError and unknown.is_retryable


def test_every_service_error_round_trips_by_code() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.ServiceError)]
    assert len(classes) >= 8
    for cls in classes:
        assert type(errors.service_error_for(cls.code, "m")) is cls
        assert cls.code.endswith(("Exception",))


def test_limits_match_the_decisions_table() -> None:
    assert limits.MAX_OPERATION_PAYLOAD_BYTES == 262_144
    assert limits.MAX_CHECKPOINT_REQUEST_BYTES == 750 * 1024
    assert limits.MAX_CHECKPOINT_UPDATES == 250
    assert limits.MAX_RESPONSE_BYTES == 6 * 1024 * 1024
    assert (limits.MIN_DELAY_SECONDS, limits.MAX_DELAY_SECONDS) == (1, 31_622_400)
    assert limits.MAX_NAME_LENGTH == 256
    assert limits.MAX_ID_LENGTH == 64
    assert limits.DEFAULT_MAX_OPERATIONS == 3_000


def test_sizes_are_counted_in_utf8_bytes() -> None:
    assert limits.utf8_size("abc") == 3
    assert limits.utf8_size("é€😀") == 2 + 3 + 4


def test_size_over_measures_only_what_may_be_over() -> None:
    assert limits.size_over(None, 4) is None
    assert limits.size_over("abcd", 4) is None  # at the limit is not over
    assert limits.size_over("abcde", 4) == 5
    assert limits.size_over("éé", 4) is None  # 2 characters may be 8 bytes: measured, 4
    assert limits.size_over("é€", 4) == 5
    assert limits.size_over("😀", 4) is None  # 1 character is at most 4 bytes: not measured


@pytest.mark.parametrize(
    "text",
    ["", "abc", 'say "hi"', "C:\\path\\", "~ !{}", "line\nbreak", "tab\t", "del\x7f", "nul\x00", "é", "😀"],
)
def test_ascii_json_length_is_the_escaped_length_or_none(text: str) -> None:
    escaped = len(json.dumps(text)) - 2  # ensure_ascii, as boto3 sends a string
    plain = text.isascii() and text.isprintable()
    assert limits.ascii_json_length(text) == (escaped if plain else None)
