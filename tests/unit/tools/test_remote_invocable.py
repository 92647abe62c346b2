"""`HttpInvocable` against `LambdaHost` in this process: the Invoke route, the event exactly
as Lambda sends it, and the URL forms a remote function accepts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from perdure.link.lambda_host import LambdaHost
from perdure.link.remote import HttpInvocable, check_function_url
from perdure.wire.types import (
    ExecutionDetails,
    InitialExecutionState,
    InvocationInput,
    InvocationStatus,
    Operation,
    OperationStatus,
    OperationType,
)

EVENTS: list[Any] = []


def echo(event: Any, context: Any) -> Any:
    EVENTS.append((event, context.function_name))
    return {"Status": "SUCCEEDED", "Result": '"ok"'}


@pytest.fixture
def host() -> Iterator[LambdaHost]:
    EVENTS.clear()
    served = LambdaHost({"orders": echo, "function": echo}, port=0)
    served.start()
    try:
        yield served
    finally:
        served.close()


STARTED = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
INPUT = InvocationInput(
    durable_execution_arn="arn:aws:lambda:us-east-1:000000000000:function:orders:$LATEST/durable-execution/a/b",
    checkpoint_token="token",
    initial_execution_state=InitialExecutionState(
        operations=(
            Operation(
                id="e",
                type=OperationType.EXECUTION,
                status=OperationStatus.STARTED,
                start_timestamp=STARTED,
                execution_details=ExecutionDetails(input_payload="{}"),
            ),
        )
    ),
)


def test_the_event_is_lambdas_with_epoch_millisecond_timestamps(host: LambdaHost) -> None:
    output = HttpInvocable("orders", host.url)(INPUT, None)
    assert output.status is InvocationStatus.SUCCEEDED and output.result == '"ok"'
    event, name = EVENTS[0]
    assert name == "orders"
    assert event["DurableExecutionArn"] == INPUT.durable_execution_arn
    assert event["CheckpointToken"] == "token"
    operation = event["InitialExecutionState"]["Operations"][0]
    assert operation["Type"] == "EXECUTION"
    assert operation["StartTimestamp"] == int(STARTED.timestamp() * 1000)


def test_a_whole_invoke_url_is_posted_to_as_it_is(host: LambdaHost) -> None:
    url = f"{host.url}/2015-03-31/functions/function/invocations"  # the emulator's fixed route
    assert HttpInvocable("orders", url)(INPUT, None).status is InvocationStatus.SUCCEEDED
    assert EVENTS[0][1] == "function"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host", "is not an http:// or https:// URL with a host"),
        ("http://", "is not an http:// or https:// URL with a host"),
        ("http://host:port", "has a malformed port"),
        ("http://host/#x", "a function URL has no query or fragment"),
    ],
)
def test_a_malformed_url_is_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_function_url(url)
    with pytest.raises(ValueError, match=message):
        HttpInvocable("orders", url)


def test_the_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="timeout must be > 0 seconds"):
        HttpInvocable("orders", "http://127.0.0.1:1", timeout=0)
