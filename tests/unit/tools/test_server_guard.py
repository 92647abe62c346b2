"""`Guard` without sockets: Host, Origin and Content-Type rules, and SigV4 checked against
requests botocore itself signs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from perdure.server.errors import (
    AccessDeniedError,
    IncompleteSignatureError,
    InvalidSignatureError,
    MissingAuthenticationTokenError,
    UnrecognizedClientError,
)
from perdure.server.guard import Guard, host_name, is_loopback
from perdure.server.sigv4 import Credentials, credentials_from_environment, sign

KEYS = Credentials("AKIDPERDURE", "s3cret/key+value")
ARN_PATH = (
    "/2025-12-01/durable-executions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af"
    "%3A%24LATEST%2Fdurable-execution%2Fn%2Fid/history"
)


def signed(
    method: str,
    path: str,
    body: bytes = b"",
    *,
    keys: Credentials = KEYS,
    at: datetime | None = None,
    region: str = "eu-west-1",
    service: str = "lambda",
) -> tuple[str, str, dict[str, str]]:
    """(raw path, raw query, lower-case headers) of a request botocore signs as boto3 does."""
    request = AWSRequest(method=method, url=f"http://127.0.0.1:9000{path}", data=body)
    request.headers["Content-Type"] = "application/json"
    request.headers["X-Amz-Invocation-Type"] = "RequestResponse"
    signer = SigV4Auth(BotoCredentials(keys.access_key_id, keys.secret_access_key), service, region)
    with pytest.MonkeyPatch.context() as patch:
        if at is not None:  # botocore's own clock, read when it signs
            patch.setattr(botocore.auth, "get_current_datetime", lambda: at.replace(tzinfo=None))
        signer.add_auth(request)
    prepared = request.prepare()
    split = urlsplit(prepared.url)
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers["host"] = "127.0.0.1:9000"
    return split.path, split.query, headers


def guard(now: datetime | None = None, **options: Any) -> Guard:
    return Guard(
        "127.0.0.1", credentials=options.pop("credentials", KEYS), now=lambda: now or datetime.now(UTC)
    )


def verify(
    check: Guard, method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes
) -> None:
    """A request as the server checks it: admitted on its headers, then verified with its body."""
    check.verify_signature(check.admit(method, headers), method, raw_path, raw_query, headers, body)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", ARN_PATH + "?MaxItems=5&IncludeExecutionData=true&Marker=a%2Fb", b""),
        ("POST", "/2015-03-31/functions/orders/invocations?Qualifier=%24LATEST", b'{"order": "\\u00e9"}'),
        ("POST", "/2025-12-01/durable-execution-callbacks/cb%2B1/succeed", bytes(range(256))),
        ("GET", "/2025-12-01/functions/f/durable-executions?Statuses=RUNNING&Statuses=FAILED", b""),
    ],
)
def test_a_request_botocore_signed_is_accepted(method: str, path: str, body: bytes):
    raw_path, raw_query, headers = signed(method, path, body)
    check = guard()
    verify(check, method, raw_path, raw_query, headers, body)


def test_any_change_to_a_signed_request_is_refused():
    raw_path, raw_query, headers = signed(
        "POST", "/2025-12-01/durable-execution-callbacks/cb/succeed", b'"yes"'
    )
    check = guard()
    with pytest.raises(InvalidSignatureError, match="does not match"):
        verify(check, "POST", raw_path, raw_query, headers, b'"no"')
    with pytest.raises(InvalidSignatureError):
        verify(check, "POST", raw_path.replace("cb", "cc"), raw_query, headers, b'"yes"')
    with pytest.raises(InvalidSignatureError):
        verify(check, "POST", raw_path, "x=1", headers, b'"yes"')
    with pytest.raises(InvalidSignatureError):
        verify(check, "POST", raw_path, raw_query, {**headers, "x-amz-invocation-type": "Event"}, b'"yes"')
    with pytest.raises(InvalidSignatureError):
        verify(check, "PUT", raw_path, raw_query, headers, b'"yes"')


def test_the_wrong_secret_or_key_id_is_refused():
    raw_path, raw_query, headers = signed("GET", ARN_PATH, keys=Credentials(KEYS.access_key_id, "wrong"))
    with pytest.raises(InvalidSignatureError):
        verify(guard(), "GET", raw_path, raw_query, headers, b"")
    _, _, headers = signed("GET", ARN_PATH, keys=Credentials("AKIDOTHER", KEYS.secret_access_key))
    with pytest.raises(UnrecognizedClientError, match="security token"):
        guard().admit("GET", headers)


def test_a_missing_or_malformed_signature_is_refused_before_the_body():
    _, _, headers = signed("GET", ARN_PATH)
    with pytest.raises(MissingAuthenticationTokenError):
        guard().admit("GET", {k: v for k, v in headers.items() if k != "authorization"})
    with pytest.raises(IncompleteSignatureError):
        guard().admit("GET", {**headers, "authorization": "AWS4-HMAC-SHA256 Credential=AKIDPERDURE"})
    with pytest.raises(IncompleteSignatureError, match="X-Amz-Date"):
        guard().admit("GET", {**headers, "x-amz-date": "yesterday"})
    _, _, headers = signed("GET", ARN_PATH, service="s3")
    with pytest.raises(InvalidSignatureError, match="service"):
        guard().admit("GET", headers)


def test_the_five_minute_clock_skew_window():
    at = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    raw_path, raw_query, headers = signed("GET", ARN_PATH, at=at)
    for skew in (timedelta(minutes=-4, seconds=-59), timedelta(0), timedelta(minutes=4, seconds=59)):
        verify(guard(now=at + skew), "GET", raw_path, raw_query, headers, b"")
    for skew in (timedelta(minutes=-5, seconds=-1), timedelta(minutes=5, seconds=1)):
        with pytest.raises(InvalidSignatureError, match="Signature expired"):
            guard(now=at + skew).admit("GET", headers)


def test_a_slow_body_does_not_expire_the_signature():
    at = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    raw_path, raw_query, headers = signed("POST", ARN_PATH, b'"late"', at=at)
    clock = [at + timedelta(minutes=4)]
    check = Guard("127.0.0.1", credentials=KEYS, now=lambda: clock[0])
    authorization = check.admit("POST", headers)  # in the window when its headers arrive
    clock[0] = at + timedelta(minutes=9)  # the body trickles in for five minutes
    check.verify_signature(authorization, "POST", raw_path, raw_query, headers, b'"late"')
    with pytest.raises(InvalidSignatureError, match="does not match"):
        check.verify_signature(authorization, "POST", raw_path, raw_query, headers, b'"lax"')


def test_verifying_needs_an_admitted_signature():
    raw_path, raw_query, headers = signed("GET", ARN_PATH)
    with pytest.raises(MissingAuthenticationTokenError):
        guard().verify_signature(None, "GET", raw_path, raw_query, headers, b"")


def test_without_credentials_signatures_are_not_checked():
    check = Guard("127.0.0.1")
    check.admit("POST", {"host": "127.0.0.1:9000", "authorization": "anything"})
    verify(check, "POST", "/x", "", {"host": "127.0.0.1:9000"}, b"{}")


def test_host_names_and_origins():
    check = Guard("127.0.0.1", ["host.docker.internal"])
    for host in ("127.0.0.1:9000", "localhost", "LOCALHOST:1", "[::1]:9000", "host.docker.internal:9000"):
        check.admit("GET", {"host": host})
    for host in ("attacker.example", "127.0.0.1.attacker.example:9000", "", "[::2]:9000", "0.0.0.0:9000"):
        with pytest.raises(AccessDeniedError, match="not served"):
            check.admit("GET", {"host": host})
    check.admit("POST", {"host": "localhost:9000", "origin": "http://localhost:9000"})
    with pytest.raises(AccessDeniedError, match="cross-origin"):
        check.admit("POST", {"host": "localhost:9000", "origin": "http://localhost:9001"})
    with pytest.raises(AccessDeniedError, match="Content-Type text/plain"):
        check.admit("POST", {"host": "localhost:9000", "content-type": "Text/Plain; charset=utf-8"})
    check.admit("POST", {"host": "localhost:9000"})  # boto3 sends no Content-Type on some routes
    Guard("0.0.0.0", ["*"]).admit("GET", {"host": "anything.example"})
    Guard("10.1.2.3").admit("GET", {"host": "10.1.2.3:9000"})


def test_loopback_and_host_name_parsing():
    assert (
        is_loopback("127.0.0.1")
        and is_loopback("::1")
        and is_loopback("localhost")
        and is_loopback("127.8.0.1")
    )
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.0.0.1")
    assert not is_loopback("example.com")
    assert host_name("[::1]:9000") == "::1" and host_name("Example.COM.:80") == "example.com"
    assert host_name("::1") == "::1"


# ---------------------------------------------------------------- perdure's own signer


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", ARN_PATH + "?MaxItems=5&IncludeExecutionData=true&Marker=a%2Fb", b""),
        ("POST", "/2025-12-01/durable-execution-callbacks/cb%2B1/succeed", bytes(range(256))),
    ],
)
def test_perdures_signer_signs_exactly_as_botocore_does(method: str, path: str, body: bytes):
    at = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    raw_path, raw_query, headers = signed(method, path, body, at=at)
    mine = sign(
        KEYS,
        method,
        raw_path,
        raw_query,
        {n: headers[n] for n in ("content-type", "host", "x-amz-invocation-type")},
        body,
        region="eu-west-1",
        now=at,
    )
    assert mine == {"X-Amz-Date": headers["x-amz-date"], "Authorization": headers["authorization"]}
    check = guard(now=at + timedelta(minutes=1))
    verify(check, method, raw_path, raw_query, headers, body)
    with pytest.raises(InvalidSignatureError):
        verify(
            guard(now=at, credentials=Credentials(KEYS.access_key_id, "another")),
            method,
            raw_path,
            raw_query,
            headers,
            body,
        )


def test_the_client_finds_its_key_in_options_then_perdures_variables_then_aws_ones():
    perdure = {"PERDURE_ACCESS_KEY_ID": "P", "PERDURE_SECRET_ACCESS_KEY": "ps"}
    aws = {"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "as"}
    assert credentials_from_environment("O", "os", {**perdure, **aws}) == Credentials("O", "os")
    assert credentials_from_environment(None, None, {**perdure, **aws}) == Credentials("P", "ps")
    assert credentials_from_environment(None, None, aws) == Credentials("A", "as")
    assert credentials_from_environment(None, None, {}) is None
    with pytest.raises(ValueError, match=r"\$AWS_SECRET_ACCESS_KEY is missing"):
        credentials_from_environment(None, None, {"AWS_ACCESS_KEY_ID": "A"})
    with pytest.raises(ValueError, match="--access-key-id is missing"):
        credentials_from_environment(None, "os", perdure)
    assert "ps" not in repr(Credentials("P", "ps"))
