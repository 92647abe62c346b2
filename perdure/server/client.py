"""`HttpServiceClient`: a `DurableExecutionService` over HTTP, for perdure's own tools.

The client writes requests by the same route table the server reads them with (members
in the path, query string, headers or body, as the botocore model places them), so it
talks to `perdure serve` (and to any endpoint that speaks the Lambda REST API) with the
standard library only. Given `Credentials`, it signs every request with SigV4
(`perdure.server.sigv4`, the implementation the server verifies with), as a server bound
beyond loopback requires (`perdure.server.sigv4.credentials_from_environment` reads them
where the CLI looks).
boto3 remains the client for AWS itself. An error response becomes the matching service
error (`perdure.wire.errors`, or the server's own refusals in `perdure.server.errors`);
an endpoint that cannot be reached raises `EndpointUnreachableError`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import typing
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from perdure.wire.codec import from_wire, member_name, to_wire
from perdure.wire.errors import ServiceError
from perdure.wire.service import DurableExecutionService
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    GetDurableExecutionHistoryRequest,
    GetDurableExecutionHistoryResponse,
    GetDurableExecutionRequest,
    GetDurableExecutionResponse,
    GetDurableExecutionStateRequest,
    GetDurableExecutionStateResponse,
    InvokeRequest,
    InvokeResponse,
    ListDurableExecutionsByFunctionRequest,
    ListDurableExecutionsByFunctionResponse,
    SendDurableExecutionCallbackFailureRequest,
    SendDurableExecutionCallbackHeartbeatRequest,
    SendDurableExecutionCallbackSuccessRequest,
    StopDurableExecutionRequest,
    StopDurableExecutionResponse,
)

from . import errors
from .errors import EndpointUnreachableError
from .routes import ROUTES, Route
from .sigv4 import ACCESS_KEY_ENV, SECRET_KEY_ENV, Credentials, sign

DEFAULT_REGION = "us-east-1"
"""The region a request is signed for when none is configured (`perdure serve` accepts any)."""

_BY_METHOD = {route.service_method: route for route in ROUTES}


@functools.cache
def _response_type(service_method: str) -> Any:
    """The wire response type the Protocol declares for a method (None for no body)."""
    hints = typing.get_type_hints(getattr(DurableExecutionService, service_method))
    answer = hints["return"]
    return None if answer is type(None) else answer


def _attribute(request: Any, member: str) -> Any:
    for f in dataclasses.fields(request):
        if member_name(f.name) == member:
            return getattr(request, f.name)
    return None


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(getattr(value, "value", value))


def encode_request(route: Route, request: Any) -> tuple[str, dict[str, str], bytes | None]:
    """(path with query string, headers, body) of `request` on `route`."""
    members = to_wire(request, timestamps="epoch_seconds")
    path = route.template
    for member in route.uri_members:
        path = path.replace(f"{{{member}}}", quote(str(members.pop(member)), safe=""))
    query: list[tuple[str, str]] = []
    for param in route.query:
        value = _attribute(request, param.name)
        members.pop(param.name, None)
        if value is None:
            continue
        values = value if param.kind == "list" else [value]
        query.extend((param.name, _query_text(v)) for v in values)
    headers: dict[str, str] = {}
    for header, member in route.headers:
        value = members.pop(member, None)
        if value is not None:
            headers[header] = str(value)
    body: bytes | None = None
    if route.body == "members":
        body = json.dumps(members).encode("utf-8")
        headers["Content-Type"] = "application/json"
    elif route.body == "structure":
        structure = members.get(str(route.body_member))
        body = json.dumps(structure or {}).encode("utf-8")
        headers["Content-Type"] = "application/json"
    elif route.body == "blob":
        raw = _attribute(request, str(route.body_member))
        body = raw if isinstance(raw, bytes) else None
        if body is not None:
            # Labelled as boto3 labels it: urllib's default (a form) is refused as a browser's.
            headers["Content-Type"] = "application/json"
    if query:
        path += "?" + urlencode(query)
    return path, headers, body


class HttpServiceClient:
    """The durable-execution API of the server at `endpoint` (e.g. `http://127.0.0.1:9000`).

    Args:
        endpoint: the server's base URL.
        timeout: seconds to wait for each answer (a synchronous `invoke` waits for its
            execution, up to the server's sync timeout).
        credentials: when given, every request is SigV4-signed with them.
        region: the region requests are signed for (default: `$AWS_REGION`,
            `$AWS_DEFAULT_REGION`, else `us-east-1`).

    Raises:
        ValueError: `endpoint` is not an http:// or https:// URL with a host.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        timeout: float = 60.0,
        credentials: Credentials | None = None,
        region: str | None = None,
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"endpoint {endpoint!r} is not an http:// or https:// URL (e.g. http://127.0.0.1:9000)"
            )
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self.credentials = credentials
        self.region = (
            region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        )

    def _send(self, route: Route, request: Any) -> tuple[int, dict[str, str], bytes]:
        path, headers, body = encode_request(route, request)
        url = self.endpoint + path
        if self.credentials is not None:
            parts = urlsplit(url)
            headers["Host"] = parts.netloc  # sent as signed (urllib keeps a Host it is given)
            headers.update(
                sign(
                    self.credentials,
                    route.method,
                    parts.path,
                    parts.query,
                    headers,
                    body or b"",
                    region=self.region,
                )
            )
        http_request = urllib.request.Request(url, data=body, headers=headers, method=route.method)
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            raise self._refusal(_error_of(exc.code, dict(exc.headers), exc.read())) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise EndpointUnreachableError(f"cannot reach {self.endpoint}: {reason}") from None

    def _refusal(self, error: ServiceError) -> ServiceError:
        """`error`, saying which key signed the request when the server refused the signature."""
        if not isinstance(error, errors.SIGNATURE_ERRORS):
            return error
        if self.credentials is None:
            hint = f"the request was not signed: give the server's key, e.g. ${ACCESS_KEY_ENV} and ${SECRET_KEY_ENV}"
        else:
            hint = f"signed with access key {self.credentials.access_key_id}"
        return type(error)(f"{error.message} ({hint})")

    def _call(self, service_method: str, request: Any) -> Any:
        route = _BY_METHOD[service_method]
        _, _, body = self._send(route, request)
        answer = _response_type(service_method)
        if answer is None:
            return None
        data = json.loads(body) if body.strip() else {}
        return from_wire(answer, data, timestamps="epoch_seconds")

    def invoke(self, request: InvokeRequest) -> InvokeResponse:
        status, headers, body = self._send(_BY_METHOD["invoke"], request)
        lower = {k.lower(): v for k, v in headers.items()}
        return InvokeResponse(
            status_code=status,
            durable_execution_arn=lower.get("x-amz-durable-execution-arn"),
            executed_version=lower.get("x-amz-executed-version"),
            payload=body or None,
            function_error=lower.get("x-amz-function-error"),
        )

    def checkpoint_durable_execution(
        self, request: CheckpointDurableExecutionRequest
    ) -> CheckpointDurableExecutionResponse:
        result: CheckpointDurableExecutionResponse = self._call("checkpoint_durable_execution", request)
        return result

    def get_durable_execution_state(
        self, request: GetDurableExecutionStateRequest
    ) -> GetDurableExecutionStateResponse:
        result: GetDurableExecutionStateResponse = self._call("get_durable_execution_state", request)
        return result

    def get_durable_execution(self, request: GetDurableExecutionRequest) -> GetDurableExecutionResponse:
        result: GetDurableExecutionResponse = self._call("get_durable_execution", request)
        return result

    def get_durable_execution_history(
        self, request: GetDurableExecutionHistoryRequest
    ) -> GetDurableExecutionHistoryResponse:
        result: GetDurableExecutionHistoryResponse = self._call("get_durable_execution_history", request)
        return result

    def list_durable_executions_by_function(
        self, request: ListDurableExecutionsByFunctionRequest
    ) -> ListDurableExecutionsByFunctionResponse:
        result: ListDurableExecutionsByFunctionResponse = self._call(
            "list_durable_executions_by_function", request
        )
        return result

    def stop_durable_execution(self, request: StopDurableExecutionRequest) -> StopDurableExecutionResponse:
        result: StopDurableExecutionResponse = self._call("stop_durable_execution", request)
        return result

    def send_durable_execution_callback_success(
        self, request: SendDurableExecutionCallbackSuccessRequest
    ) -> None:
        self._call("send_durable_execution_callback_success", request)

    def send_durable_execution_callback_failure(
        self, request: SendDurableExecutionCallbackFailureRequest
    ) -> None:
        self._call("send_durable_execution_callback_failure", request)

    def send_durable_execution_callback_heartbeat(
        self, request: SendDurableExecutionCallbackHeartbeatRequest
    ) -> None:
        self._call("send_durable_execution_callback_heartbeat", request)


def _error_of(status: int, headers: dict[str, str], body: bytes) -> ServiceError:
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        data = json.loads(body) if body.strip() else {}
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    code = lower.get("x-amzn-errortype", "").split(":", 1)[0] or str(data.get("__type") or "")
    message = str(data.get("message") or data.get("Message") or f"HTTP {status}")
    return errors.service_error(code or "ServiceException", message)
