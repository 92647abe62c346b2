"""boto3 against `perdure serve` (an `EngineHost` on an ephemeral 127.0.0.1 port).

Every call goes through an unmodified boto3 Lambda client: Invoke and the durable API,
paging, filters, stop, the error mapping (`client.exceptions.<Code>`), the bounded
synchronous Invoke, and shutdown.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.exceptions
import pytest

from perdure.wire.types import ListDurableExecutionsByFunctionRequest

from .http_links import HTTP_FLOWS, ORDER, HttpLink, lambda_client

pytestmark = pytest.mark.timeout(60)

ORDER_INPUT = {"order_id": "o-1", "items": ["book"]}


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpLink]:
    link = HttpLink(monkeypatch)
    link.register("order", ORDER)
    link.register("chatty", f"{HTTP_FLOWS}:chatty")
    link.register("waiting", f"{HTTP_FLOWS}:waiting")
    try:
        yield link
    finally:
        link.close()


@pytest.fixture
def real_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpLink]:
    """A server on the real clock whose sync Invoke gives up after 0.3 s."""
    link = HttpLink(monkeypatch, skip_time=False, sync_timeout=0.3)
    link.register("waiting", f"{HTTP_FLOWS}:waiting")
    try:
        yield link
    finally:
        link.close()


def invoke(client: Any, function: str, payload: Any, **options: Any) -> dict[str, Any]:
    response = client.invoke(FunctionName=function, Payload=json.dumps(payload).encode(), **options)
    response["Body"] = response["Payload"].read()
    return response


def wait_for_end(client: Any, arn: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        execution = client.get_durable_execution(DurableExecutionArn=arn)
        if execution["Status"] != "RUNNING" or time.monotonic() > deadline:
            return execution
        time.sleep(0.02)


def wait_for_event(client: Any, arn: str, event_type: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        events = client.get_durable_execution_history(DurableExecutionArn=arn, IncludeExecutionData=True)[
            "Events"
        ]
        found = [e for e in events if e["EventType"] == event_type]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no {event_type} in {[e['EventType'] for e in events]}"
        time.sleep(0.02)


def raw(url: str, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    # urllib would label a body application/x-www-form-urlencoded, which the server refuses
    # (a browser sends that cross-site without asking); boto3 labels it application/json.
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")


# ---------------------------------------------------------------------------- invoke


def test_sync_invoke_returns_the_result_and_the_execution_headers(served: HttpLink):
    response = invoke(served.client, "order", ORDER_INPUT)
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert response["DurableExecutionArn"].startswith("arn:aws:lambda:us-east-1:000000000000:function:order:")
    assert json.loads(response["Body"])["tracking"] == "shipped-o-1"


def test_sync_invoke_of_a_failing_execution_reports_a_function_error(served: HttpLink):
    response = invoke(served.client, "order", {"items": []})
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert json.loads(response["Body"])["ErrorType"] == "KeyError"


def test_async_invoke_answers_202_then_the_execution_runs(served: HttpLink):
    response = invoke(served.client, "order", ORDER_INPUT, InvocationType="Event")
    assert response["StatusCode"] == 202 and response["Body"] == b""
    execution = wait_for_end(served.client, response["DurableExecutionArn"])
    assert execution["Status"] == "SUCCEEDED"
    assert json.loads(execution["Result"])["tracking"] == "shipped-o-1"


def test_execution_name_is_an_idempotency_key(served: HttpLink):
    first = invoke(served.client, "order", ORDER_INPUT, DurableExecutionName="order-1", TenantId="t-1")
    again = invoke(
        served.client, "order", ORDER_INPUT, DurableExecutionName="order-1", InvocationType="Event"
    )
    assert first["DurableExecutionArn"] == again["DurableExecutionArn"]
    assert "/durable-execution/order-1/" in first["DurableExecutionArn"]
    with pytest.raises(served.client.exceptions.DurableExecutionAlreadyStartedException) as caught:
        invoke(served.client, "order", {"order_id": "other"}, DurableExecutionName="order-1")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_sync_invoke_past_its_timeout_answers_202_with_the_running_execution(real_time: HttpLink):
    started = time.monotonic()
    response = invoke(real_time.client, "waiting", {"seconds": 3600})
    assert time.monotonic() - started < 10
    assert response["StatusCode"] == 202 and response["Body"] == b""
    arn = response["DurableExecutionArn"]
    assert real_time.client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING"
    real_time.client.stop_durable_execution(DurableExecutionArn=arn)


def test_invoke_errors(served: HttpLink):
    with pytest.raises(served.client.exceptions.ResourceNotFoundException):
        invoke(served.client, "nope", {})
    with pytest.raises(served.client.exceptions.InvalidRequestContentException) as caught:
        served.client.invoke(FunctionName="order", Payload=b"{not json")
    assert "Could not parse request body into json" in str(caught.value)
    with pytest.raises(served.client.exceptions.InvalidParameterValueException):
        served.client.invoke(FunctionName="order", Payload=b"{}", DurableExecutionName="bad name!")
    with pytest.raises(served.client.exceptions.InvalidParameterValueException) as unsupported:
        served.client.invoke(FunctionName="order", Payload=b"{}", InvocationType="DryRun")
    assert "DryRun" in str(unsupported.value)


# --------------------------------------------------------------------------- reading


def test_get_durable_execution(served: HttpLink):
    arn = invoke(served.client, "order", ORDER_INPUT, DurableExecutionName="read-me")["DurableExecutionArn"]
    execution = served.client.get_durable_execution(DurableExecutionArn=arn)
    assert execution["DurableExecutionArn"] == arn and execution["DurableExecutionName"] == "read-me"
    assert execution["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:order:$LATEST"
    assert execution["Status"] == "SUCCEEDED" and execution["Version"] == "$LATEST"
    assert json.loads(execution["InputPayload"]) == ORDER_INPUT
    assert isinstance(execution["StartTimestamp"], datetime)
    assert execution["EndTimestamp"] >= execution["StartTimestamp"]
    lean = served.client.get_durable_execution(DurableExecutionArn=arn, IncludeExecutionData=False)
    assert "InputPayload" not in lean and "Result" not in lean and lean["Status"] == "SUCCEEDED"


def test_history_paging_marker_max_items_and_reverse_order(served: HttpLink):
    arn = invoke(served.client, "chatty", {"steps": 12})["DurableExecutionArn"]
    everything = served.client.get_durable_execution_history(
        DurableExecutionArn=arn, IncludeExecutionData=True
    )
    events = everything["Events"]
    assert "NextMarker" not in everything and len(events) == 1 + 2 * 12 + 2
    assert [e["EventId"] for e in events] == list(range(1, len(events) + 1))

    pages, marker = [], {}
    while True:
        page = served.client.get_durable_execution_history(
            DurableExecutionArn=arn, IncludeExecutionData=True, MaxItems=5, **marker
        )
        assert len(page["Events"]) <= 5
        pages.append(page["Events"])
        if "NextMarker" not in page:
            break
        marker = {"Marker": page["NextMarker"]}
    assert len(pages) == 6 and [e for p in pages for e in p] == events

    backwards, marker = [], {}
    while True:
        page = served.client.get_durable_execution_history(
            DurableExecutionArn=arn, IncludeExecutionData=True, MaxItems=7, ReverseOrder=True, **marker
        )
        backwards.extend(page["Events"])
        if "NextMarker" not in page:
            break
        marker = {"Marker": page["NextMarker"]}
    assert backwards == events[::-1]

    lean = served.client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
    succeeded = next(e for e in lean if e["EventType"] == "StepSucceeded")
    assert "Payload" not in succeeded["StepSucceededDetails"]["Result"]


def test_list_by_function_with_filters_and_paging(served: HttpLink):
    arns = [
        invoke(served.client, "order", ORDER_INPUT, DurableExecutionName=f"ok-{i}")["DurableExecutionArn"]
        for i in range(3)
    ]
    failed = invoke(served.client, "order", {"items": []}, DurableExecutionName="bad")["DurableExecutionArn"]
    listed = served.client.list_durable_executions_by_function(FunctionName="order")["DurableExecutions"]
    assert [e["DurableExecutionArn"] for e in listed] == [*arns, failed]
    assert listed[0]["FunctionArn"].endswith(":function:order:$LATEST")

    by_status = served.client.list_durable_executions_by_function(FunctionName="order", Statuses=["FAILED"])
    assert [e["DurableExecutionName"] for e in by_status["DurableExecutions"]] == ["bad"]
    both = served.client.list_durable_executions_by_function(
        FunctionName="order", Statuses=["FAILED", "SUCCEEDED"]
    )
    assert len(both["DurableExecutions"]) == 4
    by_name = served.client.list_durable_executions_by_function(
        FunctionName="order", DurableExecutionName="ok-1"
    )
    assert [e["DurableExecutionArn"] for e in by_name["DurableExecutions"]] == [arns[1]]
    by_arn = served.client.list_durable_executions_by_function(
        FunctionName="arn:aws:lambda:us-east-1:000000000000:function:order", ReverseOrder=True
    )
    assert [e["DurableExecutionArn"] for e in by_arn["DurableExecutions"]] == [failed, *arns[::-1]]

    future = datetime.now(UTC) + timedelta(days=3650)
    after = served.client.list_durable_executions_by_function(FunctionName="order", StartedAfter=future)
    assert after["DurableExecutions"] == []
    before = served.client.list_durable_executions_by_function(FunctionName="order", StartedBefore=future)
    assert len(before["DurableExecutions"]) == 4

    seen, marker = [], {}
    while True:
        page = served.client.list_durable_executions_by_function(FunctionName="order", MaxItems=3, **marker)
        seen.extend(e["DurableExecutionArn"] for e in page["DurableExecutions"])
        if "NextMarker" not in page:
            break
        marker = {"Marker": page["NextMarker"]}
    assert seen == [*arns, failed]
    assert served.client.list_durable_executions_by_function(FunctionName="chatty")["DurableExecutions"] == []


# --------------------------------------------------------------------------- writing


def test_stop_a_running_execution(real_time: HttpLink):
    arn = invoke(real_time.client, "waiting", {"seconds": 3600}, InvocationType="Event")[
        "DurableExecutionArn"
    ]
    wait_for_event(real_time.client, arn, "InvocationCompleted")  # suspended in its wait
    stopped = real_time.client.stop_durable_execution(
        DurableExecutionArn=arn, Error={"ErrorType": "Cancelled", "ErrorMessage": "by the test"}
    )
    assert isinstance(stopped["StopTimestamp"], datetime)
    execution = wait_for_end(real_time.client, arn)
    assert execution["Status"] == "STOPPED"
    history = real_time.client.get_durable_execution_history(
        DurableExecutionArn=arn, IncludeExecutionData=True
    )
    last = history["Events"][-1]
    assert last["EventType"] == "ExecutionStopped"
    assert last["ExecutionStoppedDetails"]["Error"]["Payload"]["ErrorMessage"] == "by the test"
    with pytest.raises(real_time.client.exceptions.ResourceConflictException):
        real_time.client.stop_durable_execution(DurableExecutionArn=arn)


def test_checkpoint_with_a_stale_token_is_refused(served: HttpLink):
    arn = invoke(served.client, "chatty", {"steps": 1})["DurableExecutionArn"]
    stale = served.invocables["chatty"].tokens[-1]
    update = {"Id": "x", "Type": "STEP", "Action": "START", "SubType": "Step"}
    with pytest.raises(served.client.exceptions.InvalidParameterValueException) as caught:
        served.client.checkpoint_durable_execution(
            DurableExecutionArn=arn, CheckpointToken=stale, Updates=[update]
        )
    assert "Invalid checkpoint token" in caught.value.response["Error"]["Message"]
    with pytest.raises(served.client.exceptions.InvalidParameterValueException):
        served.client.get_durable_execution_state(DurableExecutionArn=arn, CheckpointToken=stale)


def test_callback_calls_reach_the_service(served: HttpLink):
    # An unknown callback id is refused (which code is the engine's choice); the route, the
    # body and the error shape work either way.
    calls = [
        lambda: served.client.send_durable_execution_callback_success(
            CallbackId="missing", Result=b'{"ok": 1}'
        ),
        lambda: served.client.send_durable_execution_callback_failure(
            CallbackId="missing", Error={"ErrorMessage": "no"}
        ),
        lambda: served.client.send_durable_execution_callback_heartbeat(CallbackId="missing"),
    ]
    for call in calls:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] in {
            "ResourceNotFoundException",
            "InvalidParameterValueException",
        }


# ---------------------------------------------------------------------------- errors


def test_unknown_arn_is_resource_not_found(served: HttpLink):
    arn = "arn:aws:lambda:us-east-1:000000000000:function:order:$LATEST/durable-execution/none/none"
    for call in (
        served.client.get_durable_execution,
        served.client.get_durable_execution_history,
        served.client.stop_durable_execution,
    ):
        with pytest.raises(served.client.exceptions.ResourceNotFoundException) as caught:
            call(DurableExecutionArn=arn)
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert arn in caught.value.response["Error"]["Message"]


def test_malformed_requests_get_clear_400s(served: HttpLink):
    arn = invoke(served.client, "chatty", {"steps": 1})["DurableExecutionArn"]
    path = f"/2025-12-01/durable-executions/{urllib.request.quote(arn, safe='')}"
    status, headers, body = raw(served.url, "POST", path + "/checkpoint", b"{oops")
    assert status == 400 and headers["X-Amzn-ErrorType"] == "InvalidRequestContentException"
    assert body["Type"] == "User" and "Could not parse request body into json" in body["message"]
    status, headers, body = raw(served.url, "POST", path + "/checkpoint", b'{"Updates": []}')
    assert status == 400 and headers["X-Amzn-ErrorType"] == "InvalidParameterValueException"
    assert "CheckpointToken" in body["Message"]
    status, headers, body = raw(served.url, "GET", path + "/history?MaxItems=lots")
    assert status == 400 and "MaxItems='lots' is not an integer" in body["message"]
    status, headers, body = raw(served.url, "GET", path + "/history?MaxItems=5000")
    assert status == 400 and headers["X-Amzn-ErrorType"] == "InvalidParameterValueException"
    status, headers, _ = raw(served.url, "GET", "/2015-03-31/functions/order/invocations")
    assert status == 405 and headers["Allow"] == "POST"
    status, headers, _ = raw(served.url, "GET", "/nowhere")
    assert status == 404 and headers["X-Amzn-ErrorType"] == "UnknownOperationException"


# -------------------------------------------------------------------------- shutdown


def test_stop_releases_a_waiting_sync_invoke_and_closes_the_port(monkeypatch: pytest.MonkeyPatch):
    link = HttpLink(monkeypatch, skip_time=False, sync_timeout=30)
    link.register("waiting", f"{HTTP_FLOWS}:waiting")
    answers: list[dict[str, Any]] = []
    caller = threading.Thread(
        target=lambda: answers.append(invoke(link.client, "waiting", {"seconds": 3600}))
    )
    caller.start()
    deadline = time.monotonic() + 10
    while not link.engine.service.list_durable_executions_by_function(
        ListDurableExecutionsByFunctionRequest(function_name="waiting")
    ).durable_executions:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    link.close()
    caller.join(10)
    assert time.monotonic() - started < 10 and not caller.is_alive()
    assert answers and answers[0]["StatusCode"] == 202 and answers[0]["DurableExecutionArn"]
    late = lambda_client(link.url, connect_timeout=1)
    try:
        with pytest.raises(botocore.exceptions.EndpointConnectionError):
            late.get_durable_execution(DurableExecutionArn=answers[0]["DurableExecutionArn"])
    finally:
        late.close()
