"""`LambdaApi` without sockets: requests decoded where the model puts members, answers and errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from perdure.engine.errors import StoreConflictError, UnknownFunctionError
from perdure.sdk.errors import CheckpointError
from perdure.server.api import HttpRequest, LambdaApi
from perdure.server.client import _error_of as client_error_of
from perdure.wire.errors import InvalidRequestContentError, ResourceNotFoundError, UnknownOperationError
from perdure.wire.types import (
    ErrorObject,
    ExecutionStatus,
    GetDurableExecutionHistoryResponse,
    GetDurableExecutionResponse,
    InvokeResponse,
    ListDurableExecutionsByFunctionResponse,
    StopDurableExecutionResponse,
)

ARN = "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST/durable-execution/n/id"
EXECUTIONS = f"/2025-12-01/durable-executions/{quote(ARN, safe='')}"
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class RecordingService:
    """Answers every call with a canned response and remembers the request."""

    def __init__(self, raises: Exception | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.raises = raises

    def _record(self, method: str, request: Any) -> None:
        self.calls.append((method, request))
        if self.raises is not None:
            raise self.raises

    def invoke(self, request: Any) -> InvokeResponse:
        self._record("invoke", request)
        return InvokeResponse(200, ARN, "$LATEST", b'"done"')

    def get_durable_execution(self, request: Any) -> GetDurableExecutionResponse:
        self._record("get_durable_execution", request)
        return GetDurableExecutionResponse(
            ARN, "n", "arn:fn", ExecutionStatus.SUCCEEDED, T0, input_payload="{}", result='"r"'
        )

    def get_durable_execution_history(self, request: Any) -> GetDurableExecutionHistoryResponse:
        self._record("get_durable_execution_history", request)
        return GetDurableExecutionHistoryResponse(next_marker="7")

    def list_durable_executions_by_function(self, request: Any) -> ListDurableExecutionsByFunctionResponse:
        self._record("list_durable_executions_by_function", request)
        return ListDurableExecutionsByFunctionResponse()

    def stop_durable_execution(self, request: Any) -> StopDurableExecutionResponse:
        self._record("stop_durable_execution", request)
        return StopDurableExecutionResponse(stop_timestamp=T0)

    def send_durable_execution_callback_success(self, request: Any) -> None:
        self._record("send_durable_execution_callback_success", request)

    def send_durable_execution_callback_failure(self, request: Any) -> None:
        self._record("send_durable_execution_callback_failure", request)

    def send_durable_execution_callback_heartbeat(self, request: Any) -> None:
        self._record("send_durable_execution_callback_heartbeat", request)


def call(service: Any, method: str, path: str, body: bytes = b"", **options: Any):
    query = options.pop("query", {})
    headers = {k.lower(): v for k, v in options.pop("headers", {}).items()}
    response = LambdaApi(service).handle(HttpRequest(method, path, query, headers, body))
    headers_out = dict(response.headers)
    assert "X-Amzn-RequestId" in headers_out
    return response.status, headers_out, response.body


def test_invoke_reads_the_uri_headers_query_and_raw_payload():
    service = RecordingService()
    status, headers, body = call(
        service,
        "POST",
        "/2015-03-31/functions/orders/invocations",
        b'{"a": 1}',
        query={"Qualifier": ["$LATEST"]},
        headers={
            "X-Amz-Invocation-Type": "RequestResponse",
            "X-Amz-Durable-Execution-Name": "run-1",
            "X-Amz-Tenant-Id": "tenant",
        },
    )
    (method, request) = service.calls[0]
    assert method == "invoke"
    assert (request.function_name, request.payload, request.durable_execution_name) == (
        "orders",
        b'{"a": 1}',
        "run-1",
    )
    assert (request.qualifier, request.tenant_id, request.invocation_type) == (
        "$LATEST",
        "tenant",
        "RequestResponse",
    )
    assert status == 200 and body == b'"done"'
    assert headers["X-Amz-Durable-Execution-Arn"] == ARN and headers["X-Amz-Executed-Version"] == "$LATEST"


def test_query_values_are_typed():
    service = RecordingService()
    status, _, body = call(
        service,
        "GET",
        f"{EXECUTIONS}/history",
        query={
            "MaxItems": ["5"],
            "ReverseOrder": ["true"],
            "Marker": ["3"],
            "IncludeExecutionData": ["False"],
        },
    )
    request = service.calls[0][1]
    assert (request.durable_execution_arn, request.max_items, request.reverse_order, request.marker) == (
        ARN,
        5,
        True,
        "3",
    )
    assert request.include_execution_data is False
    assert status == 200 and json.loads(body) == {"Events": [], "NextMarker": "7"}

    call(
        service,
        "GET",
        "/2025-12-01/functions/f/durable-executions",
        query={
            "Statuses": ["RUNNING", "FAILED"],
            "StartedAfter": ["2026-01-02T03:04:05Z"],
            "StartedBefore": ["1767323045"],
        },
    )
    listing = service.calls[1][1]
    assert listing.statuses == (ExecutionStatus.RUNNING, ExecutionStatus.FAILED)
    assert listing.started_after == T0
    assert listing.started_before == datetime.fromtimestamp(1767323045, UTC)


def test_structure_and_blob_bodies():
    service = RecordingService()
    status, _, body = call(service, "POST", f"{EXECUTIONS}/stop", b'{"ErrorMessage": "m", "ErrorType": "T"}')
    assert service.calls[-1][1].error == ErrorObject(error_message="m", error_type="T")
    assert status == 200 and json.loads(body) == {"StopTimestamp": T0.timestamp()}
    call(service, "POST", f"{EXECUTIONS}/stop")
    assert service.calls[-1][1].error is None

    callbacks = "/2025-12-01/durable-execution-callbacks/cb%2B1"
    status, _, body = call(service, "POST", f"{callbacks}/succeed", b"not json at all")
    assert service.calls[-1][1].callback_id == "cb+1" and service.calls[-1][1].result == b"not json at all"
    assert status == 200 and body == b"{}"
    call(service, "POST", f"{callbacks}/fail", b'{"ErrorData": "d"}')
    assert service.calls[-1][1].error == ErrorObject(error_data="d")
    call(service, "POST", f"{callbacks}/heartbeat")
    assert service.calls[-1][0] == "send_durable_execution_callback_heartbeat"


def test_include_execution_data_false_leaves_the_data_out():
    service = RecordingService()
    _, _, body = call(service, "GET", EXECUTIONS)
    assert {"InputPayload", "Result"} <= set(json.loads(body))
    _, _, body = call(service, "GET", EXECUTIONS, query={"IncludeExecutionData": ["false"]})
    data = json.loads(body)
    assert "InputPayload" not in data and "Result" not in data and data["Status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("method", "path", "body", "query", "status", "code", "text"),
    [
        (
            "POST",
            f"{EXECUTIONS}/checkpoint",
            b"{nope",
            {},
            400,
            "InvalidRequestContentException",
            "Could not parse",
        ),
        (
            "POST",
            f"{EXECUTIONS}/checkpoint",
            b"[1]",
            {},
            400,
            "InvalidRequestContentException",
            "expected an object",
        ),
        (
            "POST",
            f"{EXECUTIONS}/checkpoint",
            b"{}",
            {},
            400,
            "InvalidParameterValueException",
            "CheckpointToken",
        ),
        (
            "POST",
            f"{EXECUTIONS}/checkpoint",
            b'{"CheckpointToken": "t", "Updates": [{"Id": "1", "Type": "NOPE", "Action": "START"}]}',
            {},
            400,
            "InvalidParameterValueException",
            "Value 'NOPE' at 'Updates[0].Type'",
        ),
        (
            "GET",
            f"{EXECUTIONS}/state",
            b"",
            {"MaxItems": ["x"]},
            400,
            "InvalidParameterValueException",
            "MaxItems",
        ),
        (
            "GET",
            f"{EXECUTIONS}/history",
            b"",
            {"ReverseOrder": ["maybe"]},
            400,
            "InvalidParameterValueException",
            "true or false",
        ),
        (
            "POST",
            "/2015-03-31/functions/f/invocations",
            b"{bad",
            {},
            400,
            "InvalidRequestContentException",
            "json",
        ),
        (
            "GET",
            "/2015-03-31/functions/f/invocations",
            b"",
            {},
            405,
            "UnknownOperationException",
            "allowed: POST",
        ),
        ("GET", "/nowhere", b"", {}, 404, "UnknownOperationException", "no API operation"),
        ("POST", f"{EXECUTIONS}/pause", b"", {}, 404, "UnknownOperationException", "PauseDurableExecution"),
    ],
)
def test_malformed_requests(method, path, body, query, status, code, text):
    service = RecordingService()
    got_status, headers, raw = call(service, method, path, body, query=query)
    assert (got_status, headers["X-Amzn-ErrorType"]) == (status, code)
    error = json.loads(raw)
    assert error["Type"] == "User" and text in error["message"] and error["Message"] == error["message"]
    assert service.calls == []


@pytest.mark.parametrize(
    ("method", "path", "body", "cls", "status"),
    [
        ("POST", "/2015-03-31/functions/f/invocations", b"{bad", InvalidRequestContentError, 400),
        ("GET", "/nowhere", b"", UnknownOperationError, 404),
    ],
)
def test_the_client_reads_the_http_layer_errors_back_as_themselves(method, path, body, cls, status):
    # Read back as a bare 500 ServiceError, a malformed request would look retryable, and
    # the SDK would retry an invocation the server can never accept.
    got_status, headers, raw = call(RecordingService(), method, path, body)
    error = client_error_of(got_status, headers, raw)
    assert type(error) is cls and (error.http_status, error.is_retryable) == (status, False)
    assert not CheckpointError.from_exception(error).is_retryable()


def test_invocation_type_is_checked():
    status, headers, raw = call(
        RecordingService(),
        "POST",
        "/2015-03-31/functions/f/invocations",
        headers={"X-Amz-Invocation-Type": "DryRun"},
    )
    assert (status, headers["X-Amzn-ErrorType"]) == (400, "InvalidParameterValueException")
    assert "DryRun" in json.loads(raw)["message"]


@pytest.mark.parametrize(
    ("raised", "status", "code", "kind"),
    [
        (ResourceNotFoundError("gone"), 404, "ResourceNotFoundException", "User"),
        (UnknownFunctionError("no function f"), 404, "ResourceNotFoundException", "User"),
        (ValueError("bad value"), 400, "InvalidParameterValueException", "User"),
        (StoreConflictError("lost its lock conflicts 8 times"), 429, "TooManyRequestsException", "User"),
        (RuntimeError("boom"), 500, "ServiceException", "Service"),
    ],
)
def test_service_failures_map_to_aws_errors(raised, status, code, kind, caplog):
    got_status, headers, raw = call(RecordingService(raises=raised), "GET", EXECUTIONS)
    assert (got_status, headers["X-Amzn-ErrorType"], json.loads(raw)["Type"]) == (status, code, kind)
    assert str(raised) in json.loads(raw)["message"]
    assert ("internal error" in caplog.text) == (status == 500)
