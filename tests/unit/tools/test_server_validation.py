"""Requests checked against the botocore model before they reach the service (`LambdaApi` without sockets)."""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import quote

import botocore.session
import pytest
from test_server_api import ARN, EXECUTIONS, RecordingService, call

from perdure.server.routes import ROUTES
from perdure.server.validation import (
    MAX_JSON_DEPTH,
    OPERATIONS,
    SCHEMA_FILE,
    RequestValidator,
    Rule,
    _count,
    _violations,
    generate_schema,
    parse_json,
    schema_text,
)
from perdure.wire.errors import InvalidRequestContentError
from perdure.wire.types import CheckpointDurableExecutionResponse, CheckpointUpdatedExecutionState

CALLBACKS = "/2025-12-01/durable-execution-callbacks"


def test_the_schema_file_is_generated_from_the_installed_botocore_model():
    model = botocore.session.get_session().get_service_model("lambda")
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(generate_schema(model)), (
        "the botocore model changed: run `python -m perdure.server.validation` and review the diff"
    )
    assert set(OPERATIONS) == {route.operation for route in ROUTES}


def refused(method: str, path: str, body: Any = b"", **options: Any) -> tuple[str, str]:
    """(error code, message) of a request the API must refuse without calling the service."""
    service = RecordingService()
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, headers, answer = call(service, method, path, raw, **options)
    assert service.calls == [], "the request reached the service"
    assert status == 400, answer
    message = json.loads(answer)["message"]
    return headers["X-Amzn-ErrorType"], message


def update(**members: Any) -> dict[str, Any]:
    return {"Id": "a1", "Type": "STEP", "Action": "START", **members}


def checkpoint(*updates: dict[str, Any], **members: Any) -> dict[str, Any]:
    return {"CheckpointToken": "abc", "Updates": list(updates), **members}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (checkpoint(update(), update(), update(), update(Id="x" * 65)), "Updates[3].Id"),
        (
            checkpoint(update(Id={"a": 1})),
            "at 'Updates[0].Id' failed to satisfy constraint: Member must be a string",
        ),
        (checkpoint(update(Id="a b")), "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+"),
        (
            checkpoint(update(StepOptions={"NextAttemptDelaySeconds": 1.5})),
            "Value '1.5' at 'Updates[0].StepOptions",
        ),
        (checkpoint(update(WaitOptions={"WaitSeconds": 0})), "greater than or equal to 1"),
        (checkpoint(update(WaitOptions={"WaitSeconds": 2**63})), "Updates[0].WaitOptions.WaitSeconds"),
        (checkpoint(update(CallbackOptions={"TimeoutSeconds": True})), "CallbackOptions.TimeoutSeconds"),
        (checkpoint(update(Error={"ErrorMessage": {"nested": 1}})), "'Updates[0].Error.ErrorMessage'"),
        (checkpoint(update(Error={"StackTrace": ["a", 2]})), "Updates[0].Error.StackTrace[1]"),
        (checkpoint(update(ContextOptions={"ReplayChildren": "yes"})), "Member must be true or false"),
        (checkpoint(update(Type="TIMER")), "Member must satisfy enum value set"),
        (checkpoint({"Id": "a", "Type": "STEP"}), "Value null at 'Updates[0].Action'"),
        (checkpoint(update(Name="tab\there")), "Updates[0].Name"),
        (checkpoint(update(ChainedInvokeOptions={"TenantId": "t"})), "ChainedInvokeOptions.FunctionName"),
        (checkpoint(update(), ClientToken=5), "Value '5' at 'ClientToken'"),
        (checkpoint(update(), ClientToken=""), "ClientToken"),
        (
            {"CheckpointToken": "abc", "Updates": {"Id": "a"}},
            "at 'Updates' failed to satisfy constraint: Member must be a list",
        ),
        ({"Updates": []}, "Value null at 'CheckpointToken'"),
        (checkpoint(update(), CheckpointToken="not base64!"), "CheckpointToken"),
    ],
)
def test_a_checkpoint_that_breaks_the_model_is_refused_naming_the_member(body: Any, expected: str):
    code, message = refused("POST", f"{EXECUTIONS}/checkpoint", body)
    assert code == "InvalidParameterValueException"
    assert message.startswith("1 validation error detected: ") and expected in message


def test_a_sensitive_member_is_named_but_its_value_is_not_shown():
    _, message = refused("POST", f"{EXECUTIONS}/checkpoint", checkpoint(update(Payload=12345)))
    assert "Value at 'Updates[0].Payload' failed to satisfy constraint: Member must be a string" in message
    assert "12345" not in message


def test_a_lone_surrogate_is_refused_as_not_unicode_text():
    body = b'{"CheckpointToken": "abc", "Updates": [{"Id": "a", "Type": "STEP", "Action": "FAIL",'
    body += b' "Error": {"ErrorMessage": "\\ud800"}}]}'
    _, message = refused("POST", f"{EXECUTIONS}/checkpoint", body)
    assert "Updates[0].Error.ErrorMessage" in message and "lone surrogate" in message


def test_every_violation_is_counted_and_the_first_ten_listed():
    body = checkpoint(*(update(Id=f"bad id {i}") for i in range(30)))
    _, message = refused("POST", f"{EXECUTIONS}/checkpoint", body)
    assert message.startswith("30 validation errors detected: ") and message.endswith("; and 20 more")
    assert "Updates[9].Id" in message and "Updates[10].Id" not in message


@pytest.mark.parametrize(
    ("method", "path", "body", "options", "expected"),
    [
        ("POST", f"{EXECUTIONS}/stop", {"ErrorMessage": 5}, {}, "at 'Error.ErrorMessage'"),
        (
            "POST",
            f"{EXECUTIONS}/stop",
            {"StackTrace": "x"},
            {},
            "at 'Error.StackTrace' failed to satisfy constraint: Member must be a list",
        ),
        ("POST", f"{CALLBACKS}/abc/fail", {"ErrorType": ["x"]}, {}, "Error.ErrorType"),
        ("POST", f"{CALLBACKS}/abc/succeed", b"x" * (1024 * 1024 + 1), {}, "at 'Result'"),
        ("POST", f"{CALLBACKS}/a%21b/heartbeat", b"", {}, "'CallbackId'"),
        ("GET", "/2025-12-01/durable-executions/arn%0D%0Ax", b"", {}, "'DurableExecutionArn'"),
        ("GET", f"/2025-12-01/durable-executions/{quote('x' * 1025)}", b"", {}, "less than or equal to 1024"),
        ("POST", "/2015-03-31/functions/a%20b/invocations", b"{}", {}, "'FunctionName'"),
        (
            "POST",
            "/2015-03-31/functions/f/invocations",
            b"{}",
            {"headers": {"X-Amz-Durable-Execution-Name": "a b"}},
            "'DurableExecutionName'",
        ),
        (
            "POST",
            "/2015-03-31/functions/f/invocations",
            b"{}",
            {"headers": {"X-Amz-Tenant-Id": "t\x00"}},
            "'TenantId'",
        ),
        (
            "POST",
            "/2015-03-31/functions/f/invocations",
            b"{}",
            {"headers": {"X-Amz-Log-Type": "All"}},
            "'LogType'",
        ),
        (
            "POST",
            "/2015-03-31/functions/f/invocations",
            b"{}",
            {"query": {"Qualifier": ["q" * 129]}},
            "'Qualifier'",
        ),
        ("GET", f"{EXECUTIONS}/history", b"", {"query": {"MaxItems": ["1001"]}}, "at 'MaxItems'"),
        ("GET", f"{EXECUTIONS}/history", b"", {"query": {"MaxItems": ["-1"]}}, "greater than or equal to 0"),
        (
            "GET",
            f"{EXECUTIONS}/state",
            b"",
            {"query": {"MaxItems": ["5"]}},
            "Value null at 'CheckpointToken'",
        ),
        (
            "GET",
            "/2025-12-01/functions/f/durable-executions",
            b"",
            {"query": {"Statuses": ["RUNNING"] * 11}},
            "at 'Statuses'",
        ),
        (
            "GET",
            "/2025-12-01/functions/f/durable-executions",
            b"",
            {"query": {"Statuses": ["LOST"]}},
            "Statuses[0]",
        ),
        (
            "GET",
            "/2025-12-01/functions/f/durable-executions",
            b"",
            {"query": {"StartedAfter": ["1e18"]}},
            "StartedAfter",
        ),
    ],
)
def test_every_route_checks_its_members_wherever_they_travel(
    method: str, path: str, body: Any, options: dict[str, Any], expected: str
):
    code, message = refused(method, path, body, **options)
    assert code == "InvalidParameterValueException" and expected in message


@pytest.mark.parametrize("value", ["\uff11\uff12", " 5", "1_0", "5.0", "9" * 30])
def test_an_integer_query_value_is_ascii_digits(value: str):
    _, message = refused("GET", f"{EXECUTIONS}/history", query={"MaxItems": [value]})
    assert "MaxItems=" in message and "is not an integer" in message


class CheckpointingService(RecordingService):
    def checkpoint_durable_execution(self, request: Any) -> CheckpointDurableExecutionResponse:
        self._record("checkpoint_durable_execution", request)
        return CheckpointDurableExecutionResponse(CheckpointUpdatedExecutionState(), "next")


def test_a_request_the_model_allows_reaches_the_service():
    service = CheckpointingService()
    body = checkpoint(
        update(
            Name="step one", SubType="Step", Payload='{"v": 1}', StepOptions={"NextAttemptDelaySeconds": 5}
        ),
        update(Id="w", Type="WAIT", WaitOptions={"WaitSeconds": 31_622_400}, ParentId="a1"),
        update(Id="c", Type="CALLBACK", CallbackOptions={"TimeoutSeconds": 0, "HeartbeatTimeoutSeconds": 0}),
        update(Id="x", Type="CONTEXT", ContextOptions={"ReplayChildren": False}, Unknown={"ignored": [1]}),
        update(
            Id="i", Type="CHAINED_INVOKE", ChainedInvokeOptions={"FunctionName": "other", "TenantId": "t-1"}
        ),
        update(Id="f", Action="FAIL", Error={"ErrorMessage": "é", "StackTrace": ["a"]}),
        ClientToken="token-1",
    )
    status, _, answer = call(service, "POST", f"{EXECUTIONS}/checkpoint", json.dumps(body).encode())
    assert [method for method, _ in service.calls] == ["checkpoint_durable_execution"]
    assert service.calls[0][1].durable_execution_arn == ARN and len(service.calls[0][1].updates) == 6
    assert status == 200 and json.loads(answer)["CheckpointToken"] == "next"


# ---------------------------------------------------------------------------- JSON


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_json_nesting_is_bounded_without_recursing():
    assert parse_json(nested(MAX_JSON_DEPTH)) is not None
    assert parse_json(b'{"a": "' + b"[{" * 10_000 + b'"}') == {"a": "[{" * 10_000}  # inside a string
    for deep in (
        nested(MAX_JSON_DEPTH + 1),
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b"[" * (16 * 1024 * 1024),
        b"[" * 100_000 + b"}",
        b"[{" * 50_000,
    ):
        with pytest.raises(InvalidRequestContentError, match=f"nested deeper than {MAX_JSON_DEPTH} levels"):
            parse_json(deep)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"NaN", "NaN is not JSON"),
        (b'{"a": Infinity}', "Infinity is not JSON"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b"1" * 5000, "Could not parse request body into json"),
        (b'{"a": [1, 2', "Could not parse request body into json"),
    ],
)
def test_json_that_is_not_strict_utf8_json_is_refused(body: bytes, expected: str):
    with pytest.raises(InvalidRequestContentError, match=expected):
        parse_json(body)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/2015-03-31/functions/f/invocations"),
        ("POST", f"{EXECUTIONS}/checkpoint"),
        ("POST", f"{EXECUTIONS}/stop"),
        ("POST", f"{CALLBACKS}/abc/fail"),
    ],
)
def test_a_deep_body_or_payload_is_invalid_content(method: str, path: str):
    code, message = refused(method, path, nested(100_000))
    assert code == "InvalidRequestContentException" and "nested deeper than" in message


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "FOO", "get", "PUT", "DELETE", "PATCH"])
def test_any_method_gets_a_4xx(method: str):
    service = RecordingService()
    for path in (f"{EXECUTIONS}/checkpoint", EXECUTIONS, "/2015-03-31/functions/f/invocations", "/"):
        status, headers, _ = call(service, method, path)
        assert status in (404, 405) and headers["X-Amzn-ErrorType"] == "UnknownOperationException"
    assert service.calls == []


# ----------------------------------------------------- counting agrees with the messages

JUNK: tuple[Any, ...] = (
    None,
    0,
    -1,
    1,
    2**31,
    2**63,
    True,
    1.5,
    "",
    "a",
    "a b",
    "é",
    "\ud800",
    "x" * 300,
    [],
    {},
    b"",
)


def _sample(rule: Rule, rng: random.Random, depth: int = 0) -> Any:
    """A value for `rule`: usually of its type, often breaking one of its rules."""
    if rng.random() < 0.15 or depth > 6:
        return rng.choice(JUNK)
    if rule.type == "structure":
        names = [n for n in rule.members if n in rule.required or rng.random() < 0.5]
        return {n: _sample(rule.members[n], rng, depth + 1) for n in names}
    if rule.type == "list":
        assert rule.member is not None
        return [_sample(rule.member, rng, depth + 1) for _ in range(rng.choice((0, 1, 2, 3, 40)))]
    if rule.type == "string":
        if rule.enum is not None:
            return rng.choice(sorted(rule.enum))
        return rng.choice(("abc", "a-1_B", "QUJD", "ab==", "x y", ARN, "$LATEST", "é", "a" * 70))
    if rule.type in ("integer", "long"):
        return rng.choice((0, 1, 5, 1000, 1001, 99999999, 31622401, -5))
    if rule.type == "boolean":
        return rng.random() < 0.5
    return rng.choice(JUNK)


def _oracle(rule: Rule, value: Any) -> int:
    """Violations counted value by value: containers here, scalars by `_violations`."""
    if rule.type == "structure" and isinstance(value, dict):
        missing = sum(1 for name in rule.required if value.get(name) is None)
        return missing + sum(
            _oracle(member, value[name])
            for name, member in rule.members.items()
            if value.get(name) is not None
        )
    if rule.type == "list" and isinstance(value, list):
        assert rule.member is not None
        bounds = int(rule.min is not None and len(value) < rule.min) + int(
            rule.max is not None and len(value) > rule.max
        )
        return bounds + sum(1 if item is None else _oracle(rule.member, item) for item in value)
    return len(list(_violations(rule, value, "")))


@pytest.mark.parametrize("operation", OPERATIONS)
def test_violations_counted_by_columns_are_the_violations_listed(operation: str):
    rule = RequestValidator().rules[operation]
    rng = random.Random(operation)
    refused = 0
    for _ in range(400):
        members = _sample(rule, rng, depth=1)
        counted = _count(rule, [members])
        assert counted == _oracle(rule, members) == len(list(_violations(rule, members, ""))), members
        refused += counted > 0
    assert 0 < refused < 400


def test_the_first_violations_are_listed_in_order_wherever_they_lie_in_a_long_list():
    updates = [update(Id=f"ok{i}") for i in range(5000)]
    for index in (0, 17, 18, 1999, 4998, 4999):
        updates[index] = update(Id=f"bad {index}")
    _, message = refused("POST", f"{EXECUTIONS}/checkpoint", checkpoint(*updates))
    listed = [int(part.split("]")[0]) for part in message.split("'Updates[")[1:]]
    assert message.startswith("6 validation errors detected: ") and listed == [0, 17, 18, 1999, 4998, 4999]
