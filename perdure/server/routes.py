"""The Lambda REST routes `perdure serve` answers: one `Route` per API operation.

Each route says where every request member travels, exactly as the botocore Lambda
service model does (`http.method`, `http.requestUri`, and each member's `location`:
uri, querystring, header, or the body). `tests/unit/tools/test_server_routes.py` checks
this table against the model, so the model stays the one source of truth while this
module stays standard-library only. Owns no behaviour: `perdure.server.api` decodes and
encodes with it. Imports only `perdure.wire` and the standard library.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    GetDurableExecutionHistoryRequest,
    GetDurableExecutionRequest,
    GetDurableExecutionStateRequest,
    InvokeRequest,
    ListDurableExecutionsByFunctionRequest,
    SendDurableExecutionCallbackFailureRequest,
    SendDurableExecutionCallbackHeartbeatRequest,
    SendDurableExecutionCallbackSuccessRequest,
    StopDurableExecutionRequest,
)

QueryKind = Literal["string", "integer", "boolean", "list", "timestamp"]
"""How a query-string value is read (botocore writes booleans as `true`/`false`,
timestamps as ISO 8601, and a list as the parameter repeated)."""

BodyKind = Literal["none", "members", "blob", "structure"]
"""What the body holds: nothing; a JSON object of the remaining members; one blob member
sent raw (`Payload`, `Result`); one structure member sent as its JSON object (`Error`)."""


@dataclass(frozen=True, slots=True)
class QueryParam:
    name: str
    """The query-string name, which is also the member name in this API."""
    kind: QueryKind = "string"


@dataclass(frozen=True, slots=True)
class Route:
    """One API operation over HTTP.

    Attributes:
        operation: the AWS operation name (`GetDurableExecution`).
        method: the HTTP method.
        template: botocore's `requestUri`, with `{Member}` placeholders (one path segment each).
        service_method: the `DurableExecutionService` method that answers it (boto3's name).
        request_type: the wire request dataclass.
        query: the members carried in the query string.
        headers: header name -> member.
        body: what the body carries (see `BodyKind`).
        body_member: the member a "blob" or "structure" body holds.
    """

    operation: str
    method: str
    template: str
    service_method: str
    request_type: type[Any]
    query: tuple[QueryParam, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: BodyKind = "none"
    body_member: str | None = None

    @property
    def uri_members(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{(\w+)\}", self.template))

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compile(self.template)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The decoded URI members if `method path` is this route (None otherwise)."""
        if method != self.method:
            return None
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {key: unquote(value) for key, value in found.groupdict().items()}

    def matches_path(self, path: str) -> bool:
        return self.pattern.fullmatch(path) is not None


@functools.cache
def _compile(template: str) -> re.Pattern[str]:
    # botocore percent-encodes a non-greedy label entirely ("/" becomes %2F), so a label
    # is exactly one raw path segment.
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)))


_ARN = "/2025-12-01/durable-executions/{DurableExecutionArn}"
_CALLBACK = "/2025-12-01/durable-execution-callbacks/{CallbackId}"

ROUTES: tuple[Route, ...] = (
    Route(
        "Invoke",
        "POST",
        "/2015-03-31/functions/{FunctionName}/invocations",
        "invoke",
        InvokeRequest,
        query=(QueryParam("Qualifier"),),
        headers=(
            ("X-Amz-Invocation-Type", "InvocationType"),
            ("X-Amz-Log-Type", "LogType"),
            ("X-Amz-Client-Context", "ClientContext"),
            ("X-Amz-Durable-Execution-Name", "DurableExecutionName"),
            ("X-Amz-Tenant-Id", "TenantId"),
        ),
        body="blob",
        body_member="Payload",
    ),
    Route(
        "CheckpointDurableExecution",
        "POST",
        f"{_ARN}/checkpoint",
        "checkpoint_durable_execution",
        CheckpointDurableExecutionRequest,
        body="members",
    ),
    Route(
        "GetDurableExecutionState",
        "GET",
        f"{_ARN}/state",
        "get_durable_execution_state",
        GetDurableExecutionStateRequest,
        query=(QueryParam("CheckpointToken"), QueryParam("Marker"), QueryParam("MaxItems", "integer")),
    ),
    Route(
        "GetDurableExecution",
        "GET",
        _ARN,
        "get_durable_execution",
        GetDurableExecutionRequest,
        query=(QueryParam("IncludeExecutionData", "boolean"),),
    ),
    Route(
        "GetDurableExecutionHistory",
        "GET",
        f"{_ARN}/history",
        "get_durable_execution_history",
        GetDurableExecutionHistoryRequest,
        query=(
            QueryParam("IncludeExecutionData", "boolean"),
            QueryParam("MaxItems", "integer"),
            QueryParam("Marker"),
            QueryParam("ReverseOrder", "boolean"),
        ),
    ),
    Route(
        "ListDurableExecutionsByFunction",
        "GET",
        "/2025-12-01/functions/{FunctionName}/durable-executions",
        "list_durable_executions_by_function",
        ListDurableExecutionsByFunctionRequest,
        query=(
            QueryParam("Qualifier"),
            QueryParam("DurableExecutionName"),
            QueryParam("Statuses", "list"),
            QueryParam("StartedAfter", "timestamp"),
            QueryParam("StartedBefore", "timestamp"),
            QueryParam("ReverseOrder", "boolean"),
            QueryParam("Marker"),
            QueryParam("MaxItems", "integer"),
        ),
    ),
    Route(
        "StopDurableExecution",
        "POST",
        f"{_ARN}/stop",
        "stop_durable_execution",
        StopDurableExecutionRequest,
        body="structure",
        body_member="Error",
    ),
    Route(
        "SendDurableExecutionCallbackSuccess",
        "POST",
        f"{_CALLBACK}/succeed",
        "send_durable_execution_callback_success",
        SendDurableExecutionCallbackSuccessRequest,
        body="blob",
        body_member="Result",
    ),
    Route(
        "SendDurableExecutionCallbackFailure",
        "POST",
        f"{_CALLBACK}/fail",
        "send_durable_execution_callback_failure",
        SendDurableExecutionCallbackFailureRequest,
        body="structure",
        body_member="Error",
    ),
    Route(
        "SendDurableExecutionCallbackHeartbeat",
        "POST",
        f"{_CALLBACK}/heartbeat",
        "send_durable_execution_callback_heartbeat",
        SendDurableExecutionCallbackHeartbeatRequest,
    ),
)


UNSUPPORTED: tuple[tuple[str, str, str], ...] = (
    ("PauseDurableExecution", "POST", f"{_ARN}/pause"),
    ("ResumeDurableExecution", "POST", f"{_ARN}/resume"),
    ("DeleteDurableExecution", "DELETE", _ARN),
)
"""Durable operations newer botocore models define beyond the nine of the contract:
(operation, method, template). They are recognised, to be refused by name."""


def unsupported_operation(method: str, path: str) -> str | None:
    """The name of a known but unsupported operation at `method path` (None otherwise)."""
    for operation, verb, template in UNSUPPORTED:
        if verb == method and _compile(template).fullmatch(path) is not None:
            return operation
    return None


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for `method path` and its decoded URI members (None: no such route)."""
    for route in ROUTES:
        members = route.match(method, path)
        if members is not None:
            return route, members
    return None


def allowed_methods(path: str) -> list[str]:
    """The methods some route accepts on `path` (for a 405 instead of a 404)."""
    return sorted({r.method for r in ROUTES if r.matches_path(path)})
