"""`LambdaApi`: one HTTP request in, one HTTP response out, over a `DurableExecutionService`.

No sockets here (`perdure.server.http` owns them), so every route is testable with plain
values. A request is matched against the route table, its members are gathered from the
path, query string, headers and body where the botocore model puts them, and decoded
into the wire request by the one codec (`timestamps="epoch_seconds"`, the REST JSON
form). The answer is encoded the same way. Failures become the AWS error shape botocore
parses: status, `X-Amzn-ErrorType: <Code>` and `{"Type", "message", "Message"}`.
Before decoding, every member is checked against the botocore model
(`perdure.server.validation`), so nothing a client can send reaches the service with a
type, length, range or pattern the model forbids, and JSON is parsed with bounded nesting.
Imports `perdure.wire`, `perdure.engine.errors` (through `.errors`) and the stdlib.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from perdure.wire.codec import from_wire, to_wire
from perdure.wire.errors import (
    InvalidParameterValueError,
    InvalidRequestContentError,
    ServiceError,
    UnknownOperationError,
)
from perdure.wire.service import DurableExecutionService
from perdure.wire.types import InvokeRequest, InvokeResponse

from .errors import error_for
from .routes import QueryParam, Route, allowed_methods, find_route, unsupported_operation
from .validation import RequestValidator, parse_json

logger = logging.getLogger("perdure.server")

JSON = "application/json"
INVOCATION_TYPES = ("RequestResponse", "Event")
_EXECUTION_DATA = ("InputPayload", "Result", "Error")
_INTEGER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class HttpRequest:
    """A request as the socket layer read it.

    Attributes:
        method: upper-case HTTP method.
        path: the raw (still percent-encoded) path, without the query string.
        query: each query parameter with all its values, decoded.
        headers: header names in lower case.
        body: the raw body.
    """

    method: str
    path: str
    query: Mapping[str, list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


class LambdaApi:
    """The AWS Lambda REST API (Invoke and the nine durable-execution operations).

    Args:
        service: what answers the calls (the engine's `EngineService`, or any implementation
            of the wire Protocol).
        validator: checks each request against the model (by default the shipped schema's).
    """

    def __init__(self, service: DurableExecutionService, validator: RequestValidator | None = None) -> None:
        self.service = service
        self.validator = validator or RequestValidator()

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request; never raises."""
        request_id = str(uuid.uuid4())
        try:
            response = self._dispatch(request)
        except Exception as exc:
            error = error_for(exc)
            if error is None:
                logger.exception("internal error answering %s %s", request.method, request.path)
                error = ServiceError(f"internal error: {type(exc).__name__}: {exc}")
            response = error_response(error)
        return HttpResponse(
            response.status, response.body, (*response.headers, ("X-Amzn-RequestId", request_id))
        )

    def _dispatch(self, request: HttpRequest) -> HttpResponse:
        found = find_route(request.method, request.path)
        if found is None:
            unsupported = unsupported_operation(request.method, request.path)
            if unsupported is not None:
                raise UnknownOperationError(f"{unsupported} is not supported by perdure serve")
            methods = allowed_methods(request.path)
            if methods:
                error = UnknownOperationError(
                    f"{request.method} is not allowed on {request.path} (allowed: {', '.join(methods)})"
                )
                return error_response(error, status=405, extra=(("Allow", ", ".join(methods)),))
            raise UnknownOperationError(f"no API operation answers {request.method} {request.path}")
        route, uri_members = found
        wire_request = decode_request(route, uri_members, request, self.validator)
        if isinstance(wire_request, InvokeRequest):
            return self._invoke(wire_request)
        result = getattr(self.service, route.service_method)(wire_request)
        body = {} if result is None else to_wire(result, timestamps="epoch_seconds")
        if route.operation == "GetDurableExecution" and _query_flag(request, "IncludeExecutionData") is False:
            for member in _EXECUTION_DATA:
                body.pop(member, None)
        return json_response(200, body)

    def _invoke(self, request: InvokeRequest) -> HttpResponse:
        invocation_type = request.invocation_type or "RequestResponse"
        if invocation_type not in INVOCATION_TYPES:
            raise InvalidParameterValueError(
                f"InvocationType {invocation_type!r} is not supported here (use {' or '.join(INVOCATION_TYPES)})"
            )
        if request.payload:
            parse_json(request.payload)
        return invoke_response(self.service.invoke(request))


def invoke_response(result: InvokeResponse) -> HttpResponse:
    """The HTTP answer of an `Invoke` (the socket layer also builds it for a synchronous
    invoke that it waited for without a thread)."""
    headers: list[tuple[str, str]] = [("Content-Type", JSON)]
    if result.durable_execution_arn is not None:
        headers.append(("X-Amz-Durable-Execution-Arn", result.durable_execution_arn))
    if result.executed_version is not None:
        headers.append(("X-Amz-Executed-Version", result.executed_version))
    if result.function_error is not None:
        headers.append(("X-Amz-Function-Error", result.function_error))
    return HttpResponse(result.status_code, result.payload or b"", tuple(headers))


# ------------------------------------------------------------------------- requests


def decode_request(
    route: Route, uri_members: Mapping[str, str], request: HttpRequest, validator: RequestValidator
) -> Any:
    """The wire request of `route`, its members gathered where the model puts them and
    checked against the model by `validator`.

    Raises:
        InvalidRequestContentError: the body is not the JSON the operation expects.
        InvalidParameterValueError: a member is missing, malformed or of the wrong type.
    """
    members: dict[str, Any] = {}
    if route.body == "members":
        members.update(_json_object(request.body))
    elif route.body == "structure" and request.body.strip():
        members[str(route.body_member)] = _json_object(request.body)
    elif route.body == "blob" and request.body:
        members[str(route.body_member)] = request.body
    for param in route.query:
        values = request.query.get(param.name)
        if values:
            members[param.name] = _query_value(param, values)
    for header, member in route.headers:
        value = request.headers.get(header.lower())
        if value is not None:
            members[member] = value
    members.update(uri_members)  # the path wins over a body that repeats a member
    validator.check(route.operation, members)
    try:
        return from_wire(route.request_type, members, timestamps="epoch_seconds", path=route.operation)
    except ValueError as exc:
        raise InvalidParameterValueError(str(exc)) from None


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    value = parse_json(body)
    if not isinstance(value, dict):
        raise InvalidRequestContentError(
            f"Could not parse request body into json: expected an object, got {type(value).__name__}"
        )
    return value


def _query_value(param: QueryParam, values: list[str]) -> Any:
    if param.kind == "list":
        return list(values)
    text = values[-1]
    if param.kind == "integer":
        if _INTEGER.fullmatch(text) is None or len(text) > 20:
            raise InvalidParameterValueError(f"{param.name}={text[:40]!r} is not an integer")
        return int(text)
    if param.kind == "boolean":
        flag = _boolean(text)
        if flag is None:
            raise InvalidParameterValueError(f"{param.name}={text!r} is not true or false")
        return flag
    return text  # strings, and timestamps (the codec reads ISO 8601 and epoch seconds)


def _boolean(text: str) -> bool | None:
    return {"true": True, "false": False}.get(text.strip().lower())


def _query_flag(request: HttpRequest, name: str) -> bool | None:
    values = request.query.get(name)
    return _boolean(values[-1]) if values else None


# ------------------------------------------------------------------------ responses


def json_response(status: int, body: Mapping[str, Any]) -> HttpResponse:
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return HttpResponse(status, text.encode("utf-8"), (("Content-Type", JSON),))


def error_response(
    error: ServiceError, *, status: int | None = None, extra: tuple[tuple[str, str], ...] = ()
) -> HttpResponse:
    """The AWS error shape: botocore reads the code from `X-Amzn-ErrorType`, the message
    from `message` (Lambda's casing) or `Message` (the modeled member), so both are sent."""
    code = status or error.http_status
    body = {"Type": "Service" if code >= 500 else "User", "message": error.message, "Message": error.message}
    response = json_response(code, body)
    return HttpResponse(code, response.body, (*response.headers, ("X-Amzn-ErrorType", error.code), *extra))
