"""`HttpInvocable` against `LambdaHost` in this process: the Invoke route, the event exactly
as Lambda sends it, and the URL forms a remote function accepts."""

from __future__ import annotations

import socket
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


def _raw(host: LambdaHost, request: bytes) -> bytes:
    address = host.url.removeprefix("http://").split(":")
    with socket.create_connection((address[0], int(address[1])), timeout=10) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_an_event_cut_short_runs_nothing_and_a_bad_length_is_refused(host: LambdaHost) -> None:
    route = b"POST /2015-03-31/functions/orders/invocations HTTP/1.1\r\nHost: x\r\n"
    assert _raw(host, route + b"Content-Length: 100\r\n\r\n" + b'{"a": 1') == b""
    assert _raw(host, route + b"Content-Length: nope\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert _raw(host, route + b"Content-Length: 99999999\r\n\r\n").startswith(b"HTTP/1.1 413")
    assert EVENTS == []


def test_an_answer_over_the_response_limit_is_an_invalid_response() -> None:
    from perdure.engine.invoker import InvocationCrashed
    from perdure.wire.limits import MAX_RESPONSE_BYTES

    def huge(event: Any, context: Any) -> Any:
        return {"Status": "SUCCEEDED", "Result": "x" * (MAX_RESPONSE_BYTES + 10)}

    served = LambdaHost({"orders": huge}, port=0)
    served.start()
    try:
        with pytest.raises(InvocationCrashed) as raised:
            HttpInvocable("orders", served.url)(INPUT, None)
    finally:
        served.close()
    assert raised.value.error.error_type == "Runtime.InvalidResponse"
    assert "response limit" in (raised.value.error.error_message or "")


def test_a_refused_connection_is_a_function_unreachable_nothing_ran() -> None:
    from perdure.engine.invoker import FunctionUnreachable

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FunctionUnreachable) as raised:
        HttpInvocable("orders", f"http://127.0.0.1:{port}")(INPUT, None)
    assert raised.value.error.error_type == "Runtime.Unreachable"
    assert "cannot connect" in (raised.value.error.error_message or "")
