"""The console's routes over HTTP: its login (token, then a cookie) when the server checks
signatures, what a signed-in browser may and may not do on the Lambda routes, and the
JSON its pages read (filters, keyset pages, errors)."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from perdure.console import COOKIE
from perdure.server import Credentials
from perdure.wire.types import ExecutionStatus

from .conftest import FUNCTIONS, Served, serve

pytestmark = pytest.mark.timeout(60)
TOKEN = "test-console-token-0123"
KEY = Credentials("AKIDCONSOLE", "console-secret")


@pytest.fixture
def signed(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path, skip_time=True, credentials=KEY)


@pytest.fixture
def open_server(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path, skip_time=True)


def request(
    served: Served, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(served.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def sign_in(served: Served) -> str:
    status, headers, _ = request(served, "GET", f"/?token={TOKEN}")
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    return cookie.split(";")[0]


def start_approval(served: Served, name: str) -> str:
    response = served.client(KEY.access_key_id, KEY.secret_access_key).invoke(
        FunctionName="approval", Payload=b"{}", InvocationType="Event", DurableExecutionName=name
    )
    arn: str = response["ResponseMetadata"]["HTTPHeaders"]["x-amz-durable-execution-arn"]
    return arn


def test_signature_checking_server_asks_the_console_for_its_token(signed: Served) -> None:
    assert signed.host.console_url == f"{signed.url}/?token={TOKEN}"
    status, headers, body = request(signed, "GET", "/")
    assert status == 401 and b"token" in body and headers["content-type"].startswith("text/html")
    status, _, body = request(signed, "GET", "/console/api/executions")
    assert status == 401 and "sign in" in json.loads(body)["message"]
    status, _, _ = request(signed, "GET", "/?token=not-the-token-at-all")
    assert status == 401
    cookie = sign_in(signed)
    status, headers, body = request(signed, "GET", "/", headers={"Cookie": cookie})
    assert status == 200 and b"console.js" in body
    assert "default-src 'self'" in headers["content-security-policy"]
    status, _, _ = request(signed, "GET", "/", headers={"Cookie": f"{COOKIE}=forged"})
    assert status == 401


def test_signed_in_browser_acts_through_lambda_routes_within_cross_site_rules(signed: Served) -> None:
    arn = start_approval(signed, "a-1")
    cookie = sign_in(signed)
    host = urlsplit(signed.url).netloc
    stop = f"/2025-12-01/durable-executions/{quote(arn, safe='')}/stop"
    same_site = {"Cookie": cookie, "Origin": f"http://{host}", "Content-Type": "application/json"}

    status, headers, _ = request(signed, "POST", stop, b"{}", {**same_site, "Origin": "http://evil.example"})
    assert (status, headers["x-amzn-errortype"]) == (403, "AccessDeniedException")
    status, headers, _ = request(signed, "POST", stop, b"{}", {**same_site, "Content-Type": "text/plain"})
    assert (status, headers["x-amzn-errortype"]) == (403, "AccessDeniedException")
    no_origin = {"Cookie": cookie, "Content-Type": "application/json"}
    status, headers, _ = request(signed, "POST", stop, b"{}", no_origin)
    assert (status, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")
    status, headers, _ = request(signed, "POST", stop, b"{}", {"Origin": f"http://{host}"})
    assert (status, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")
    assert signed.engine.get_execution(arn).status is ExecutionStatus.RUNNING

    status, _, body = request(
        signed, "GET", f"/2025-12-01/durable-executions/{quote(arn, safe='')}", headers={"Cookie": cookie}
    )
    assert status == 200 and json.loads(body)["Status"] == "RUNNING"
    status, _, _ = request(signed, "POST", stop, b"{}", same_site)
    assert status == 200
    assert signed.engine.get_execution(arn).status is ExecutionStatus.STOPPED
    # A signed client is served as before.
    client = signed.client(KEY.access_key_id, KEY.secret_access_key)
    assert client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "STOPPED"


def test_loopback_server_without_signatures_asks_no_login(open_server: Served) -> None:
    assert open_server.host.console_url == f"{open_server.url}/"
    status, _, body = request(open_server, "GET", "/console/api/executions")
    assert status == 200 and json.loads(body) == {"executions": [], "next": None}
    status, headers, _ = request(
        open_server, "POST", "/console/api/executions", b"{}", {"Content-Type": "application/json"}
    )
    assert status == 405 and headers["allow"] == "GET, HEAD"
    status, headers, _ = request(open_server, "GET", "/", headers={"Host": "evil.example"})
    assert (status, headers["x-amzn-errortype"]) == (403, "AccessDeniedException")


def until(read: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
    """`read()` again until `done` says yes (the engine runs the execution on its own thread)."""
    deadline = time.monotonic() + 30
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def api(served: Served, path: str) -> Any:
    status, _, body = request(served, "GET", f"/console/api/{path}")
    assert status == 200, body
    return json.loads(body)


def test_list_is_newest_first_filtered_and_keyset_paged(open_server: Served) -> None:
    arns = [start_approval(open_server, f"order-{n:02d}") for n in range(7)]
    open_server.client().stop_durable_execution(DurableExecutionArn=arns[3])
    first = api(open_server, "executions?limit=3")
    assert [x["name"] for x in first["executions"]] == ["order-06", "order-05", "order-04"]
    second = api(open_server, f"executions?limit=3&after={first['next']}")
    assert [x["name"] for x in second["executions"]] == ["order-03", "order-02", "order-01"]
    last = api(open_server, f"executions?limit=3&after={second['next']}")
    assert [x["name"] for x in last["executions"]] == ["order-00"] and last["next"] is None
    assert [x["name"] for x in api(open_server, "executions?status=STOPPED")["executions"]] == ["order-03"]
    assert [x["name"] for x in api(open_server, "executions?name=der-0&limit=2")["executions"]] == [
        "order-06",
        "order-05",
    ]
    assert api(open_server, "executions?function=fanout")["executions"] == []
    assert api(open_server, "functions") == {"registered": FUNCTIONS, "all": FUNCTIONS}
    status, _, body = request(open_server, "GET", "/console/api/executions?status=DONE")
    assert status == 400 and "DONE" in json.loads(body)["message"]
    for limit in ("0", "501"):  # the page size is 1..500, zero included in the refusal
        status, _, body = request(open_server, "GET", f"/console/api/executions?limit={limit}")
        assert status == 400 and f"got {limit}" in json.loads(body)["message"]
    status, _, body = request(open_server, "GET", "/console/api/execution?arn=nope")
    assert status == 404 and "nope" in json.loads(body)["message"]
    status, _, body = request(open_server, "GET", "/console/api/execution")
    assert status == 400 and "arn" in json.loads(body)["message"]


def test_execution_page_data_and_one_operation_s_payloads(open_server: Served) -> None:
    arn = start_approval(open_server, "payloads")
    # Read once the invocation that opened the callback has ended: until then its end still
    # moves the version between the page's read and the version's.
    page, version = until(
        lambda: (
            api(open_server, f"execution?arn={quote(arn)}"),
            api(open_server, f"version?arn={quote(arn)}"),
        ),
        lambda read: (
            any(o["name"] == "approval" for o in read[0]["operations"])
            and read[1]["version"] == read[0]["version"]
        ),
    )
    assert page["execution"]["status"] == "RUNNING"
    by_name = {o["name"]: o for o in page["operations"]}
    assert by_name["approval"]["type"] == "CALLBACK" and by_name["approval"]["callbackId"]
    assert "result" not in by_name["submit"]  # payloads are read when an operation is opened
    assert by_name["submit"]["attempt"] == 1 and page["attempts"] == {}  # not retried: no history read
    submit = api(open_server, f"operation?arn={quote(arn)}&id={by_name['submit']['id']}")
    assert json.loads(submit["result"]["text"]) == {"request": {}} and submit["result"]["decoded"] is True
    execution = api(open_server, f"operation?arn={quote(arn)}")
    assert execution["input"]["text"] == "{}"
    assert version == {"status": "RUNNING", "version": page["version"]}
    open_server.client().send_durable_execution_callback_success(
        CallbackId=by_name["approval"]["callbackId"], Result=b'{"ok": true}'
    )
    ended = until(lambda: api(open_server, f"version?arn={quote(arn)}"), lambda v: v["status"] != "RUNNING")
    assert ended["status"] == "SUCCEEDED" and ended["version"] != page["version"]


def test_a_replay_children_result_is_labelled_a_summary_and_errors_keep_their_stack(
    open_server: Served,
) -> None:
    client = open_server.client()
    response = client.invoke(FunctionName="big_map", Payload=b"{}")
    arn = response["ResponseMetadata"]["HTTPHeaders"]["x-amz-durable-execution-arn"]
    page = api(open_server, f"execution?arn={quote(arn)}")
    batch = next(o for o in page["operations"] if o["name"] == "big")
    assert batch["replayChildren"] is True
    detail = api(open_server, f"operation?arn={quote(arn)}&id={batch['id']}")
    assert detail["summary"] is True and json.loads(detail["result"]["text"])["successCount"] == 10

    waiting = start_approval(open_server, "to-stop")
    stack = ["Traceback (most recent call last):", '  File "ops.py", line 3, in halt']
    client.stop_durable_execution(
        DurableExecutionArn=waiting,
        Error={"ErrorType": "Halted", "ErrorMessage": "by the operator", "StackTrace": stack},
    )
    error = api(open_server, f"execution?arn={quote(waiting)}")["execution"]["error"]
    assert error == {"type": "Halted", "message": "by the operator", "data": None, "stackTrace": stack}
