"""The server's route table against the botocore Lambda model, the source of truth for HTTP shapes."""

from __future__ import annotations

import dataclasses
from functools import cache

import botocore.session
import pytest

from perdure.server.routes import (
    ROUTES,
    UNSUPPORTED,
    Route,
    allowed_methods,
    find_route,
    unsupported_operation,
)
from perdure.wire.codec import member_name
from perdure.wire.service import DurableExecutionService

# Members the wire request types leave out on purpose (the engine has no use for them).
IGNORED = {
    "Invoke": {"LogType", "ClientContext"},
    "GetDurableExecution": {"IncludeExecutionData"},  # applied by the server to the response
}
_QUERY_KINDS = {
    "string": "string",
    "integer": "integer",
    "boolean": "boolean",
    "list": "list",
    "timestamp": "timestamp",
}


@cache
def model():
    return botocore.session.get_session().get_service_model("lambda")


NINE = {
    "CheckpointDurableExecution",
    "GetDurableExecutionState",
    "GetDurableExecution",
    "GetDurableExecutionHistory",
    "ListDurableExecutionsByFunction",
    "StopDurableExecution",
    "SendDurableExecutionCallbackSuccess",
    "SendDurableExecutionCallbackFailure",
    "SendDurableExecutionCallbackHeartbeat",
}


def test_the_table_covers_invoke_and_the_nine_durable_operations():
    assert {r.operation for r in ROUTES} == NINE | {"Invoke"}


def test_every_other_durable_operation_of_the_model_is_refused_by_name():
    durable = {n for n in model().operation_names if "DurableExecution" in n}
    unsupported = {name for name, _, _ in UNSUPPORTED}
    assert durable - NINE <= unsupported
    for name, method, template in UNSUPPORTED:
        http = model().operation_model(name).http if name in durable else None
        if http is not None:
            assert (method, template) == (http["method"], http["requestUri"])
        path = template.replace("{DurableExecutionArn}", "arn%3Ax")
        assert unsupported_operation(method, path) == name
        assert find_route(method, path) is None


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.operation)
def test_route_matches_the_model(route: Route):
    operation = model().operation_model(route.operation)
    assert (route.method, route.template) == (operation.http["method"], operation.http["requestUri"])
    shape = operation.input_shape
    by_location: dict[str, dict[str, str]] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location", "body")
        by_location.setdefault(location, {})[name] = member.serialization.get("name", name)
    assert set(route.uri_members) == set(by_location.get("uri", {}))
    assert {p.name: p.kind for p in route.query} == {
        wire: _QUERY_KINDS[shape.members[member].type_name]
        for member, wire in by_location.get("querystring", {}).items()
    }
    assert {(header, member) for header, member in route.headers} == {
        (wire, member) for member, wire in by_location.get("header", {}).items()
    }
    payload = shape.serialization.get("payload")
    if payload is not None:
        assert route.body_member == payload
        assert route.body == ("blob" if shape.members[payload].type_name == "blob" else "structure")
    else:
        assert route.body == ("members" if by_location.get("body") else "none")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.operation)
def test_route_request_type_and_service_method(route: Route):
    assert callable(getattr(DurableExecutionService, route.service_method))
    fields = {member_name(f.name) for f in dataclasses.fields(route.request_type)}
    members = set(model().operation_model(route.operation).input_shape.members)
    assert fields == members - IGNORED.get(route.operation, set())


def test_find_route_decodes_percent_encoded_labels():
    arn = "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST/durable-execution/n/id"
    encoded = "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af%3A%24LATEST%2Fdurable-execution%2Fn%2Fid"
    for suffix, operation in [
        ("", "GetDurableExecution"),
        ("/history", "GetDurableExecutionHistory"),
        ("/state", "GetDurableExecutionState"),
    ]:
        found = find_route("GET", f"/2025-12-01/durable-executions/{encoded}{suffix}")
        assert found is not None
        assert found[0].operation == operation and found[1] == {"DurableExecutionArn": arn}
    found = find_route("POST", "/2025-12-01/durable-execution-callbacks/a%2Bb%3D/succeed")
    assert found is not None and found[1] == {"CallbackId": "a+b="}
    assert find_route("GET", f"/2025-12-01/durable-executions/{encoded}/checkpoint") is None
    assert allowed_methods(f"/2025-12-01/durable-executions/{encoded}/checkpoint") == ["POST"]
    assert allowed_methods("/elsewhere") == []
