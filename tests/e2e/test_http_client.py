"""`HttpServiceClient` (stdlib) against `perdure serve`: every operation, errors, and as the SDK's client."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from perdure.link.inprocess import decode_output
from perdure.sdk.execution import InvocationInputWithClient
from perdure.server import EndpointUnreachableError, HttpServiceClient
from perdure.wire.errors import (
    DurableExecutionAlreadyStartedError,
    InvalidParameterValueError,
    ResourceConflictError,
    ResourceNotFoundError,
)
from perdure.wire.service import DurableExecutionService
from perdure.wire.types import (
    ErrorObject,
    ExecutionStatus,
    GetDurableExecutionHistoryRequest,
    GetDurableExecutionRequest,
    GetDurableExecutionStateRequest,
    InvocationInput,
    InvocationOutput,
    InvokeRequest,
    ListDurableExecutionsByFunctionRequest,
    SendDurableExecutionCallbackSuccessRequest,
    StopDurableExecutionRequest,
)

from .http_links import HTTP_FLOWS, ORDER, HttpLink, InProcessLink, callback_id, load, normalized

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[HttpLink, HttpServiceClient]]:
    link = HttpLink(monkeypatch)
    link.register("order", ORDER)
    link.register("approval", f"{HTTP_FLOWS}:approval")
    try:
        yield link, HttpServiceClient(link.url, timeout=30)
    finally:
        link.close()


def test_it_is_a_durable_execution_service(served):
    assert isinstance(served[1], DurableExecutionService)


def test_invoke_read_list_and_page(served):
    _, client = served
    payload = json.dumps({"order_id": "o-3", "items": ["mug"]}).encode()
    response = client.invoke(InvokeRequest("order", payload, durable_execution_name="o-3"))
    assert response.status_code == 200 and response.executed_version == "$LATEST"
    assert json.loads(response.payload or b"")["tracking"] == "shipped-o-3"
    arn = str(response.durable_execution_arn)
    again = client.invoke(InvokeRequest("order", payload, "Event", durable_execution_name="o-3"))
    assert (again.status_code, again.durable_execution_arn, again.payload) == (202, arn, None)
    with pytest.raises(DurableExecutionAlreadyStartedError):
        client.invoke(InvokeRequest("order", b"{}", durable_execution_name="o-3"))

    execution = client.get_durable_execution(GetDurableExecutionRequest(arn))
    assert execution.status is ExecutionStatus.SUCCEEDED and execution.durable_execution_name == "o-3"
    events = []
    marker = None
    while True:
        page = client.get_durable_execution_history(
            GetDurableExecutionHistoryRequest(arn, include_execution_data=True, max_items=4, marker=marker)
        )
        events.extend(page.events)
        marker = page.next_marker
        if marker is None:
            break
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))
    reverse = client.get_durable_execution_history(GetDurableExecutionHistoryRequest(arn, reverse_order=True))
    assert [e.event_id for e in reverse.events] == [e.event_id for e in events][::-1]

    now = datetime.now(UTC)
    listed = client.list_durable_executions_by_function(
        ListDurableExecutionsByFunctionRequest(
            "order",
            statuses=(ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED),
            started_after=now - timedelta(days=1),
            started_before=now + timedelta(days=1),
            durable_execution_name="o-3",
        )
    )
    assert [e.durable_execution_arn for e in listed.durable_executions] == [arn]


def test_errors_are_the_wire_errors(served):
    link, client = served
    unknown = "arn:aws:lambda:us-east-1:000000000000:function:order:$LATEST/durable-execution/a/b"
    with pytest.raises(ResourceNotFoundError):
        client.get_durable_execution(GetDurableExecutionRequest(unknown))
    with pytest.raises(ResourceNotFoundError):
        client.invoke(InvokeRequest("nope", b"{}"))
    arn = link.start("approval", {})
    with pytest.raises(InvalidParameterValueError, match="Invalid checkpoint token"):
        client.get_durable_execution_state(GetDurableExecutionStateRequest(arn, "staletoken"))
    client.send_durable_execution_callback_success(
        SendDurableExecutionCallbackSuccessRequest(callback_id(link, arn), b'"ok"')
    )
    assert link.finish(arn).status == "SUCCEEDED"
    with pytest.raises(ResourceConflictError):
        client.stop_durable_execution(StopDurableExecutionRequest(arn, ErrorObject(error_message="late")))


def test_an_unreachable_endpoint_is_one_clear_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HttpServiceClient(f"http://127.0.0.1:{port}", timeout=5)
    with pytest.raises(EndpointUnreachableError, match=f"cannot reach http://127.0.0.1:{port}"):
        client.get_durable_execution(GetDurableExecutionRequest("arn:x"))


class StdlibClientInvocable:
    """The handler checkpoints through `HttpServiceClient` instead of boto3."""

    def __init__(self, target: str, url: str) -> None:
        self.handler = load(target)
        self.client = HttpServiceClient(url, timeout=30)

    def __call__(self, input: InvocationInput, context: Any) -> InvocationOutput:
        return decode_output(
            self.handler(InvocationInputWithClient(input=input, client=self.client), context)
        )


def test_the_sdk_runs_over_the_stdlib_client_with_the_same_history(monkeypatch: pytest.MonkeyPatch):
    local, remote = InProcessLink(), HttpLink(monkeypatch)
    try:
        local.register("order", ORDER)
        remote.engine.register_function("order", StdlibClientInvocable(ORDER, remote.url))
        payload = {"order_id": "o-5", "items": ["book", "mug"]}
        here, there = local.run("order", payload, "same"), remote.run("order", payload, "same")
    finally:
        local.close()
        remote.close()
    assert (here.status, here.result) == (there.status, there.result) and here.status == "SUCCEEDED"
    assert normalized(here.history) == normalized(there.history)
