"""perdure.sdk.aws: the boto3-backed client, with a fake boto3 client object."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from perdure.sdk.aws import LambdaDurableServiceClient
from perdure.sdk.errors import CheckpointError, GetExecutionStateError
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    GetDurableExecutionStateRequest,
    OperationAction,
    OperationType,
    OperationUpdate,
)


class ClientError(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"An error occurred ({code}): {message}")
        self.response = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }


class FakeBoto:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def checkpoint_durable_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {
            "CheckpointToken": "t2",
            "NewExecutionState": {
                "Operations": [
                    {
                        "Id": "s",
                        "Type": "STEP",
                        "Status": "STARTED",
                        "StartTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
                    }
                ]
            },
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    def get_durable_execution_state(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return {"Operations": [], "NextMarker": ""}


REQUEST = CheckpointDurableExecutionRequest(
    "arn", "t1", (OperationUpdate("s", OperationType.STEP, OperationAction.START, name="n"),)
)


def test_checkpoint_converts_both_ways() -> None:
    boto = FakeBoto()
    response = LambdaDurableServiceClient(boto).checkpoint_durable_execution(REQUEST)
    assert boto.calls[0] == {
        "DurableExecutionArn": "arn",
        "CheckpointToken": "t1",
        "Updates": [{"Id": "s", "Type": "STEP", "Action": "START", "Name": "n"}],
    }
    assert response.checkpoint_token == "t2"
    assert response.new_execution_state.operations[0].start_timestamp.year == 2026


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (ClientError("InvalidParameterValueException", "Invalid checkpoint token", 400), True),
        (ClientError("InvalidParameterValueException", "bad update", 400), False),
        (ClientError("ServiceException", "boom", 500), True),
        (ClientError("KMSDisabledException", "kms", 502), False),
        (ConnectionError("reset"), True),
    ],
)
def test_errors_are_translated(error: Exception, retryable: bool) -> None:
    with pytest.raises(CheckpointError) as info:
        LambdaDurableServiceClient(FakeBoto(error)).checkpoint_durable_execution(REQUEST)
    assert info.value.is_retryable() is retryable
    if isinstance(error, ClientError) and "InvalidParameterValue" in str(error):
        assert isinstance(info.value.__cause__, InvalidParameterValueError)


def test_state_errors_and_missing_token() -> None:
    request = GetDurableExecutionStateRequest("arn", "t", marker="m", max_items=1000)
    assert LambdaDurableServiceClient(FakeBoto()).get_durable_execution_state(request).operations == ()
    with pytest.raises(GetExecutionStateError):
        LambdaDurableServiceClient(
            FakeBoto(ClientError("ServiceException", "x", 500))
        ).get_durable_execution_state(request)
    with pytest.raises(CheckpointError):
        LambdaDurableServiceClient(FakeBoto()).checkpoint_durable_execution(
            CheckpointDurableExecutionRequest("arn", "", ())
        )
