"""`perdure serve`'s socket layer under hostile or broken clients, over raw sockets.

A request is acted on only once its whole body arrived; idle and slow connections are
closed after their (here short) timeouts without stopping other requests; Host, Origin and
Content-Type checks refuse browser cross-site and DNS-rebinding requests; methods and
paths no route answers get AWS's unknown-operation answer; garbage gets a status line and
never a 5xx; a synchronous Invoke waiting for its execution holds no worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from perdure.server import ApiServer, LambdaApi, ServerOptions
from perdure.server.http import BODY_LIMITS, DECODE_FACTOR, EVENT_INVOKE_LIMIT, _Budget, body_limit
from perdure.wire.types import CheckpointDurableExecutionResponse, CheckpointUpdatedExecutionState
from tests.unit.tools.test_server_api import ARN, RecordingService

from .http_links import HTTP_FLOWS, HttpLink, callback_id

EXECUTION = f"/2025-12-01/durable-executions/{quote(ARN, safe='')}"
CALLBACK = "/2025-12-01/durable-execution-callbacks/Y2FsbGJhY2s="
STATE_CHANGING = [
    ("Invoke", "/2015-03-31/functions/f/invocations", b'{"order": 1}'),
    ("CheckpointDurableExecution", f"{EXECUTION}/checkpoint", b'{"CheckpointToken": "t", "Updates": []}'),
    ("StopDurableExecution", f"{EXECUTION}/stop", b'{"ErrorMessage": "stop"}'),
    ("SendDurableExecutionCallbackSuccess", f"{CALLBACK}/succeed", b'"the whole result"'),
    ("SendDurableExecutionCallbackFailure", f"{CALLBACK}/fail", b'{"ErrorMessage": "no"}'),
    ("SendDurableExecutionCallbackHeartbeat", f"{CALLBACK}/heartbeat", b"{}"),
]


class Recorder(RecordingService):
    def checkpoint_durable_execution(self, request: Any) -> CheckpointDurableExecutionResponse:
        self._record("checkpoint_durable_execution", request)
        return CheckpointDurableExecutionResponse(CheckpointUpdatedExecutionState(), "t2")


SHORT = ServerOptions(idle_timeout=0.5, body_timeout=1.0)


class Served:
    def __init__(self, options: ServerOptions = SHORT, **server: Any) -> None:
        self.service = Recorder()
        self.server = ApiServer(LambdaApi(self.service), port=0, options=options, **server)
        self.server.start()
        self.host, self.port = self.server.address

    def connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=30)
        return sock

    def exchange(self, data: bytes) -> tuple[int, dict[str, str], bytes]:
        """Send `data` on a new connection and read one answer (the connection then closes)."""
        with self.connect() as sock:
            sock.sendall(data)
            return read_response(sock, head_only=data.startswith(b"HEAD "))

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        fields = {"Host": f"{self.host}:{self.port}", "Content-Length": str(len(body)), "Connection": "close"}
        if body:
            fields["Content-Type"] = "application/json"
        fields.update(headers or {})
        head = "".join(f"{k}: {v}\r\n" for k, v in fields.items() if v is not None)
        return self.exchange(f"{method} {path} HTTP/1.1\r\n{head}\r\n".encode() + body)


def read_response(sock: socket.socket, *, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection without an answer (got {data!r})"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 "), lines[0]
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = 0 if head_only else int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return int(lines[0].split()[1]), headers, body


@pytest.fixture
def served() -> Iterator[Served]:
    served = Served()
    yield served
    served.server.stop()


def wait_for_abandoned(caplog: pytest.LogCaptureFixture, count: int) -> None:
    """Until the server has seen `count` clients leave before their body was complete."""
    deadline = time.monotonic() + 30
    while sum("left before its body was complete" in r.getMessage() for r in caplog.records) < count:
        assert time.monotonic() < deadline, "the server did not notice the clients leaving"
        time.sleep(0.01)


# ---------------------------------------------------------------- incomplete requests


@pytest.mark.parametrize(("operation", "path", "body"), STATE_CHANGING, ids=[r[0] for r in STATE_CHANGING])
def test_a_request_whose_body_never_completes_changes_nothing(
    served: Served, caplog: pytest.LogCaptureFixture, operation: str, path: str, body: bytes
):
    caplog.set_level(logging.DEBUG, logger="perdure.server.access")
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with served.connect() as truncated:
        truncated.sendall(head + body[: len(body) // 2])  # then the client goes away
    with served.connect() as headers_only:
        headers_only.sendall(head)
    wait_for_abandoned(caplog, 2)
    assert served.service.calls == []
    # The same request sent whole is acted on: the route really is this operation's.
    status, _, _ = served.request("POST", path, body)
    assert status < 300 and len(served.service.calls) == 1


def test_a_body_cut_short_by_a_half_close_gets_a_400_and_changes_nothing(served: Served):
    with served.connect() as sock:
        sock.sendall(
            f"POST {CALLBACK}/succeed HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
            'Content-Type: application/json\r\nContent-Length: 50\r\n\r\n"only part'.encode()
        )
        sock.shutdown(socket.SHUT_WR)  # the client can still read the answer
        status, headers, body = read_response(sock)
    assert status == 400 and headers["x-amzn-errortype"] == "InvalidRequestContentException"
    assert "before its Content-Length" in json.loads(body)["message"] and served.service.calls == []


@pytest.mark.parametrize("extra", [b"", b"GET / HTTP/1.1\r\n"], ids=["complete", "then-a-partial-request"])
def test_a_complete_request_then_a_half_close_gets_its_answer(served: Served, extra: bytes):
    with served.connect() as sock:
        sock.sendall(
            f"POST {CALLBACK}/succeed HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
            'Content-Type: application/json\r\nContent-Length: 5\r\n\r\n"abc"'.encode()
            + extra
        )
        sock.shutdown(socket.SHUT_WR)
        status, _, _ = read_response(sock)
        assert sock.recv(1) == b""  # then the server closes
    assert status == 200 and served.service.calls[0][1].result == b'"abc"'


def test_a_truncated_callback_result_does_not_complete_the_callback(monkeypatch: pytest.MonkeyPatch):
    link = HttpLink(monkeypatch)
    try:
        link.register("approval", f"{HTTP_FLOWS}:approval")
        arn = link.start("approval", {})
        callback = callback_id(link, arn)
        host, port = link.host.server.address
        body = b"the whole answer"
        with socket.create_connection((host, port)) as sock:
            sock.sendall(
                f"POST /2025-12-01/durable-execution-callbacks/{callback}/succeed HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body[:5]
            )
        link.succeed_callback(callback, body)  # accepted: the callback was still open
        assert link.finish(arn).result == json.dumps({"answer": "the whole answer"})
    finally:
        link.close()


# ------------------------------------------------------------------- slow and idle


def test_idle_and_slow_connections_do_not_block_others_and_are_closed(served: Served):
    idle = [served.connect() for _ in range(500)]
    slow = []
    for _ in range(50):
        sock = served.connect()
        sock.sendall(
            f"POST {CALLBACK}/succeed HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n0123456789".encode()
        )
        slow.append(sock)
    status, _, body = served.request("GET", f"{EXECUTION}")
    assert status == 200 and json.loads(body)["Status"] == "SUCCEEDED"
    # Every one of them is closed by the server (the slow ones after a 408 answer).
    answers = {sock: b"" for sock in idle + slow}
    selector = selectors.DefaultSelector()
    for sock in answers:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic() + 60
    open_count = len(answers)
    while open_count:
        assert time.monotonic() < deadline, f"{open_count} connections still open"
        for key, _ in selector.select(timeout=1):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                answers[sock] += chunk
            else:
                selector.unregister(sock)
                sock.close()
                open_count -= 1
    assert all(answers[sock] == b"" for sock in idle)
    assert all(answers[sock].startswith(b"HTTP/1.1 408 ") for sock in slow)
    assert all(b"RequestTimeoutException" in answers[sock] for sock in slow)
    assert served.service.calls == [("get_durable_execution", served.service.calls[0][1])]


def test_a_body_over_its_route_limit_is_refused_unread(served: Served):
    limit = BODY_LIMITS["SendDurableExecutionCallbackSuccess"]
    status, headers, body = served.exchange(
        f"POST {CALLBACK}/succeed HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {limit + 1}\r\n\r\n".encode()
    )
    assert status == 413 and headers["x-amzn-errortype"] == "RequestTooLargeException"
    assert str(limit) in json.loads(body)["message"] and served.service.calls == []


def test_an_event_invoke_over_the_asynchronous_limit_is_refused_unread_and_calls_nothing(served: Served):
    invoke = "/2015-03-31/functions/f/invocations"
    status, headers, body = served.exchange(
        f"POST {invoke} HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\nX-Amz-Invocation-Type: Event\r\n"
        f"Content-Type: application/json\r\nContent-Length: {EVENT_INVOKE_LIMIT + 1}\r\n\r\n".encode()
    )
    assert status == 413 and headers["x-amzn-errortype"] == "RequestTooLargeException"
    message = json.loads(body)["message"]
    assert str(EVENT_INVOKE_LIMIT) in message and "asynchronous (Event)" in message
    assert served.service.calls == []
    # at the limit an Event invoke goes through; so does a larger synchronous one
    for invocation_type, size in (("Event", EVENT_INVOKE_LIMIT), ("RequestResponse", EVENT_INVOKE_LIMIT + 1)):
        payload = b'"' + b"x" * (size - 2) + b'"'
        status, _, answer = served.request(
            "POST", invoke, payload, {"X-Amz-Invocation-Type": invocation_type}
        )
        assert status == 200, answer
    assert [len(request.payload) for _, request in served.service.calls] == [
        EVENT_INVOKE_LIMIT,
        EVENT_INVOKE_LIMIT + 1,
    ]


def test_the_body_limit_of_each_request():
    invoke = "/2015-03-31/functions/f/invocations"
    assert body_limit("POST", invoke, {})[0] == BODY_LIMITS["Invoke"] == 6 * 1024 * 1024
    assert body_limit("POST", invoke, {"x-amz-invocation-type": "RequestResponse"})[0] == 6 * 1024 * 1024
    assert (
        body_limit("POST", invoke, {"x-amz-invocation-type": "Event"})[0] == EVENT_INVOKE_LIMIT == 1024 * 1024
    )
    assert body_limit("POST", f"{CALLBACK}/succeed", {"x-amz-invocation-type": "Event"})[0] == 256 * 1024
    assert body_limit("GET", "/nowhere", {})[0] == 64 * 1024


def test_a_request_without_room_in_the_memory_budget_waits_unread():
    budget = DECODE_FACTOR * BODY_LIMITS["Invoke"]  # room for one maximum-size invoke
    served = Served(ServerOptions(idle_timeout=30, body_timeout=30, memory_budget=budget))
    try:
        invoke = f"POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
        big = served.connect()
        big.sendall(f"{invoke}Content-Length: {BODY_LIMITS['Invoke']}\r\n\r\n[".encode())
        with served.connect() as small:
            small.sendall(f"{invoke}Content-Length: 2\r\nConnection: close\r\n\r\n{{}}".encode())
            # A request with no body needs no room: it is answered while the small invoke waits.
            assert served.request("GET", EXECUTION)[0] == 200
            assert [name for name, _ in served.service.calls] == ["get_durable_execution"]
            big.close()  # its room is given back: the waiting invoke goes ahead
            status, _, _ = read_response(small)
        assert status == 200 and [name for name, _ in served.service.calls] == [
            "get_durable_execution",
            "invoke",
        ]
    finally:
        served.server.stop()


def test_the_budget_refuses_after_waiting_its_timeout():
    budget = _Budget(100)

    async def scenario() -> list[bool]:
        first = await budget.take(80, 1)
        waited = await budget.take(30, 0.01)  # 20 free: refused after its wait
        await budget.give(80)
        return [first, waited, await budget.take(100, 0.01)]

    assert asyncio.run(scenario()) == [True, False, True]


# ------------------------------------------------------------------ browsers and DNS


def test_cross_site_and_rebound_requests_are_refused(served: Served):
    own = f"127.0.0.1:{served.port}"
    refusals = [
        served.request("GET", EXECUTION, headers={"Host": f"attacker.example:{served.port}"}),
        served.request("GET", EXECUTION, headers={"Origin": "http://attacker.example"}),
        served.request("GET", EXECUTION, headers={"Origin": "null"}),
        served.request("POST", f"{CALLBACK}/succeed", b'"x"', headers={"Content-Type": "text/plain"}),
        served.request(
            "POST",
            f"{CALLBACK}/heartbeat",
            b"a=b",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        served.request(
            "POST", f"{CALLBACK}/succeed", b"x", headers={"Content-Type": "multipart/form-data; boundary=x"}
        ),
        served.exchange(f"GET {EXECUTION} HTTP/1.0\r\n\r\n".encode()),  # no Host at all
    ]
    for status, headers, body in refusals:
        assert status == 403 and headers["x-amzn-errortype"] == "AccessDeniedException"
        assert json.loads(body)["Type"] == "User"
    assert served.service.calls == []
    accepted = [
        served.request("GET", EXECUTION, headers={"Host": f"localhost:{served.port}"}),
        served.request("GET", EXECUTION, headers={"Host": f"[::1]:{served.port}"}),
        served.request("GET", EXECUTION, headers={"Origin": f"http://{own}"}),
        served.request("POST", f"{CALLBACK}/heartbeat", b"", headers={"Content-Type": None}),  # type: ignore[dict-item]
    ]
    assert [status for status, _, _ in accepted] == [200, 200, 200, 200]


def test_allow_host_adds_a_name():
    from perdure.server import Guard

    served = Served(guard=Guard("127.0.0.1", ["host.docker.internal"]))
    try:
        assert served.request("GET", EXECUTION, headers={"Host": "host.docker.internal:9000"})[0] == 200
        assert served.request("GET", EXECUTION, headers={"Host": "other.internal:9000"})[0] == 403
    finally:
        served.server.stop()


# ------------------------------------------------------------- methods and garbage


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "PATCH", "PUT", "TRACE", "BREW"])
def test_methods_no_route_answers_get_the_unknown_operation_answer(served: Served, method: str):
    status, headers, body = served.request(method, EXECUTION)
    assert status == 405 and headers["x-amzn-errortype"] == "UnknownOperationException"
    assert headers["allow"] == "GET"
    if method == "HEAD":
        assert body == b""
    else:
        assert json.loads(body)["Type"] == "User" and method in json.loads(body)["message"]
    status, headers, _ = served.request(method, "/nowhere")
    assert status == 404 and headers["x-amzn-errortype"] == "UnknownOperationException"


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /2025-12-01/durable\r-executions/x HTTP/1.1",
        b"GET /a\rb HTTP/1.1",
        b"GET /a\nb HTTP/1.1",
        b"GET /a%0d%0aSet-Cookie:%20x HTTP/1.1",
        b"GET /\x00\x01 HTTP/1.1",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"GET",
        b"GET / HTTP/9.9",
        b"POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nContent-Length: -1",
        b"POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nContent-Length: 1, 2",
        b"POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3",
        b"GET / HTTP/1.1\r\nBad Header: x",
        b"GET / HTTP/1.1\r\nX: " + b"y" * 70000,
    ],
)
def test_garbage_gets_a_status_line_and_never_a_5xx(served: Served, request_line: bytes):
    with served.connect() as sock:
        sock.sendall(request_line + b"\r\nHost: 127.0.0.1\r\n\r\n")
        status, _, _ = read_response(sock)
    assert 400 <= status < 500 and served.service.calls == []


def test_random_bytes_never_get_a_5xx_nor_an_answer_without_a_status_line(served: Served):
    chooser = random.Random(20261207)
    prefixes = [
        b"",
        b"GET ",
        b"POST /2015-03-31/functions/f/invocations HTTP/1.1\r\n",
        b"GET / HTTP/1.1\r\nHost: ",
    ]
    for _ in range(60):
        noise = bytes(
            chooser.choice(b"\r\n :/%?\x00\x7fGETPOSAHx0-9") for _ in range(chooser.randint(1, 200))
        )
        with served.connect() as sock:
            sock.sendall(chooser.choice(prefixes) + noise + b"\r\n\r\n")
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        if answer:  # an incomplete request may get no answer at all: never a headless one
            assert answer.startswith(b"HTTP/1.1 "), answer[:80]
            assert 400 <= int(answer.split()[1]) < 500 or answer.startswith(b"HTTP/1.1 200 "), answer[:80]


def test_connections_over_the_cap_are_closed_on_accept():
    served = Served(ServerOptions(idle_timeout=30, max_connections=3))
    try:
        kept = [served.connect() for _ in range(3)]
        # Closed by the server, unanswered (a FIN, or a reset).
        with served.connect() as extra, contextlib.suppress(ConnectionResetError):
            assert extra.recv(1) == b""
        kept.pop().close()
        deadline = time.monotonic() + 30
        while True:  # once the server has seen that close, a new connection is served
            try:
                if served.request("GET", EXECUTION)[0] == 200:
                    break
            except (AssertionError, ConnectionError):
                pass
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for sock in kept:
            sock.close()
    finally:
        served.server.stop()


def test_a_chunked_body_is_read_whole(served: Served):
    with served.connect() as sock:
        sock.sendall(
            f"POST {CALLBACK}/succeed HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
            'Transfer-Encoding: chunked\r\n\r\n3\r\n"ab\r\n2\r\nc"\r\n0\r\n\r\n'.encode()
        )
        status, _, _ = read_response(sock)
    assert status == 200 and served.service.calls[0][1].result == b'"abc"'


# --------------------------------------------------------------------- threads


def test_a_waiting_synchronous_invoke_holds_no_worker_thread(monkeypatch: pytest.MonkeyPatch):
    link = HttpLink(monkeypatch, skip_time=False, sync_timeout=30, options=ServerOptions(workers=1))
    link.register("waiting", f"{HTTP_FLOWS}:waiting")
    answers: list[dict[str, Any]] = []

    def invoke() -> None:
        answers.append(link.client.invoke(FunctionName="waiting", Payload=json.dumps({"seconds": 3600})))

    waiting = [threading.Thread(target=invoke) for _ in range(3)]
    try:
        for thread in waiting:
            thread.start()
        deadline = time.monotonic() + 20
        while (
            len(link.client.list_durable_executions_by_function(FunctionName="waiting")["DurableExecutions"])
            < 3
        ):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # Three invokes wait for their executions and the server has one worker thread:
        # other calls are answered all the same, while the invokes still wait.
        for _ in range(5):
            assert link.client.list_durable_executions_by_function(FunctionName="waiting")[
                "DurableExecutions"
            ]
        assert all(thread.is_alive() for thread in waiting) and answers == []
    finally:
        link.close()
        for thread in waiting:
            thread.join(30)
    assert [a["StatusCode"] for a in answers] == [202, 202, 202]
