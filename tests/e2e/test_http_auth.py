"""`perdure serve` with credentials: boto3 signs with the configured keys and works unchanged;
unsigned and wrongly signed requests are refused; beyond loopback, credentials are required."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from perdure.engine import Engine
from perdure.server import Credentials, CredentialsRequiredError, EngineHost
from perdure.server.guard import is_loopback
from perdure.server.host import is_wildcard
from perdure.wire.types import ListDurableExecutionsByFunctionRequest

from .http_links import HTTP_FLOWS, HttpLink

KEYS = Credentials("AKIDPERDURETEST", "the-secret")


@pytest.fixture
def signed(monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpLink]:
    link = HttpLink(monkeypatch, host="0.0.0.0", credentials=KEYS)
    # The handler's own SDK client signs its checkpoints with the keys its environment gives.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEYS.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEYS.secret_access_key)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it keeps the credentials it first read
    link.register("chatty", f"{HTTP_FLOWS}:chatty")
    yield link
    link.close()


def keyed_client(url: str, *, key_id: str, secret: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="eu-central-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=30),
    )


def local_url(link: HttpLink) -> str:
    return f"http://127.0.0.1:{link.host.server.address[1]}"


def test_boto3_with_the_right_keys_invokes_and_reads_history(signed: HttpLink):
    client = keyed_client(local_url(signed), key_id=KEYS.access_key_id, secret=KEYS.secret_access_key)
    try:
        response = client.invoke(FunctionName="chatty", Payload=json.dumps({"steps": 3}))
        assert json.loads(response["Payload"].read()) == 3
        arn = response["DurableExecutionArn"]
        events = client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
        assert [e["EventType"] for e in events][-1] == "ExecutionSucceeded"
        assert sum(e["EventType"] == "StepSucceeded" for e in events) == 3
    finally:
        client.close()


def test_wrongly_signed_and_unsigned_requests_are_refused(signed: HttpLink):
    url = local_url(signed)
    for key_id, secret, code in [
        (KEYS.access_key_id, "not-the-secret", "InvalidSignatureException"),
        ("AKIDSOMEONEELSE", KEYS.secret_access_key, "UnrecognizedClientException"),
    ]:
        client = keyed_client(url, key_id=key_id, secret=secret)
        try:
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                client.invoke(FunctionName="chatty", Payload=b"{}")
            assert refused.value.response["Error"]["Code"] == code
            assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        finally:
            client.close()
    request = urllib.request.Request(
        f"{url}/2025-12-01/functions/chatty/durable-executions", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(request, timeout=10)
    with unsigned.value:
        assert unsigned.value.code == 403
        assert unsigned.value.headers["X-Amzn-ErrorType"] == "MissingAuthenticationTokenException"
    executions = signed.engine.service.list_durable_executions_by_function
    assert executions(ListDurableExecutionsByFunctionRequest(function_name="chatty")).durable_executions == ()


def test_credentials_are_checked_on_loopback_when_configured(monkeypatch: pytest.MonkeyPatch):
    link = HttpLink(monkeypatch, credentials=KEYS)
    try:
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            link.client.list_durable_executions_by_function(FunctionName="chatty")  # keys "x"
        assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    finally:
        link.close()


def test_listening_beyond_loopback_without_credentials_is_refused():
    engine = Engine.in_memory()
    try:
        for host in ("0.0.0.0", "::", "192.0.2.1"):
            with pytest.raises(CredentialsRequiredError, match="--access-key-id"):
                EngineHost(engine, host=host, port=0)
    finally:
        engine.close()


def test_a_wildcard_bind_serves_the_machines_own_names(signed: HttpLink):
    port = signed.host.server.address[1]
    served = signed.host.machine_hosts
    assert socket.gethostname().lower() in served
    # The address a client on the network uses: the default route's, or the name's.
    names = [a for a in served if not is_loopback(a) and ":" not in a] or [socket.gethostname()]
    client = keyed_client(
        f"http://{names[0]}:{port}", key_id=KEYS.access_key_id, secret=KEYS.secret_access_key
    )
    try:
        client.list_durable_executions_by_function(FunctionName="chatty")  # not refused for its Host
    finally:
        client.close()


def test_only_a_wildcard_bind_serves_the_machines_names() -> None:
    assert is_wildcard("0.0.0.0") and is_wildcard("::") and is_wildcard("[::]")
    assert not any(is_wildcard(h) for h in ("127.0.0.1", "192.0.2.1", "localhost", "example.com"))
