"""A seeded fuzzer for `perdure serve`, over real HTTP (raw sockets, so anything can be sent).

`run_fuzz` starts `perdure serve` as a subprocess on a SQLite file, creates executions in
several states (succeeded, failed, running with a pending callback), records each one's
state and full history, then sends `requests` requests built from a valid request of
every route and mutated: members replaced by values of the wrong type or out of range,
removed, added; deep nesting; empty, truncated, huge and non-UTF-8 bodies; other methods
(HEAD, OPTIONS, TRACE, CONNECT, lower case, made up); junk, CR and LF in paths, query
strings, headers and the request line itself. It returns a `FuzzReport`: the answers
by route and status, every answer >= 500 or missing, and whether the executions that
existed before are unchanged and the database passes `PRAGMA integrity_check`.

The pre-existing executions are safe from valid requests by construction: the fuzzer never
knows their checkpoint tokens or callback ids, and sends `StopDurableExecution` only to
its own "victim" executions (whose callback ids it does know, so valid callbacks, stops and
checkpoints with a wrong token are exercised too). To reach the engine's checkpoint
processors, a `holder` invocation (tests/e2e/flows/fuzz_flows.py) hands the fuzzer its live
checkpoint token and stays open; half the checkpoints then go to its execution with the
latest token, so mutated updates meet an engine that would apply them. At the end, every
execution is read back and none may hold a member stored with a type the API forbids.

`tests/e2e/test_server_fuzz.py` runs a few thousand requests in `make test`;
`make fuzz` runs `python -m tests.e2e.server_fuzz` (20,000 by default) and prints the summary.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

FLOWS = Path(__file__).parent / "flows" / "fuzz_flows.py"
FUNCTIONS = ("succeeds", "fails", "approval", "holder")
MAX_HOLDERS = 25
"""Held invocations started in one run (a new one when the last one's execution ended)."""
PREFIX = "/2025-12-01"
FAKE_ARN = "arn:aws:lambda:us-east-1:000000000000:function:succeeds:$LATEST/durable-execution/ghost/0000"

# ------------------------------------------------------------------------ raw HTTP


@dataclass
class Request:
    route: str
    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    raw_target: str | None = None
    """The request target exactly as sent (it may hold CR or LF); None: built from the parts."""
    raw_line: str | None = None
    """The whole request line exactly as sent (it may hold CR or LF); None: method, target, version."""
    declared_length: int | None = None
    """A Content-Length other than the body's: the body is sent, then the socket's write side closes."""
    may_drop: bool = False
    """Whether the server may close the connection without an HTTP answer (a broken request line)."""
    mutations: list[str] = field(default_factory=list)

    def target(self) -> str:
        if self.raw_target is not None:
            return self.raw_target
        if not self.query:
            return self.path
        return (
            self.path
            + "?"
            + "&".join(
                f"{quote(k, safe='')}={quote(v, safe='', errors='surrogatepass')}" for k, v in self.query
            )
        )

    def encode(self, host: str) -> bytes:
        length = len(self.body) if self.declared_length is None else self.declared_length
        line = self.raw_line if self.raw_line is not None else f"{self.method} {self.target()} HTTP/1.1"
        lines = [line, f"Host: {host}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        lines.append(f"Content-Length: {length}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        return head + self.body


def send(
    address: tuple[str, int], request: Request, timeout: float = 60
) -> tuple[str, int | None, bytes, bytes]:
    """Send one request on a fresh connection; (outcome, status, head, body).

    outcome: "status" (an HTTP answer), "no-status" (bytes but no status line), "closed"
    (no bytes at all) or "reset".
    """
    data = b""
    with socket.create_connection(address, timeout=timeout) as sock:
        try:
            sock.sendall(request.encode(f"{address[0]}:{address[1]}"))
            if request.declared_length is not None:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered (a 413) and closed before the whole request was sent
            pass
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            if not data:
                return "reset", None, b"", b""
    if not data:
        return "closed", None, b"", b""
    first, _, rest = data.partition(b"\r\n")
    parts = first.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return "no-status", None, b"", data
    head, _, body = rest.partition(b"\r\n\r\n")
    return "status", int(parts[1]), head, body


def call(
    address: tuple[str, int], method: str, path: str, body: Any = None, **headers: str
) -> tuple[int, Any]:
    """A well-formed request (setup and checks); (status, parsed JSON body or raw bytes)."""
    raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    request = Request("setup", method, path, headers=list(headers.items()), body=raw)
    outcome, status, _, answer = send(address, request)
    assert outcome == "status" and status is not None, (method, path, outcome)
    try:
        return status, json.loads(answer or b"{}")
    except ValueError:
        return status, answer


def arn_path(arn: str) -> str:
    return f"{PREFIX}/durable-executions/{quote(arn, safe='')}"


# ------------------------------------------------------------------------ the server


class Server:
    """`perdure serve` in a subprocess on `db`, on a free port."""

    def __init__(self, db: Path, log: Path, hold: Path) -> None:
        functions = [f"--function={name}={FLOWS}:{name}" for name in FUNCTIONS]
        command = [sys.executable, "-m", "perdure.cli.main", "serve", "--port", "0", "--db", str(db)]
        command += [*functions, "--sync-timeout", "2"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PERDURE_FUZZ_HOLD": str(hold)}
        env.pop("PERDURE_DB", None)
        self.log = log
        self._stderr = log.open("wb")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._stderr, env=env)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        if "listening on http://" not in line:
            self.process.kill()
            raise RuntimeError(f"perdure serve did not start: {line!r} {log.read_text()}")
        host, port = line.rsplit("http://", 1)[1].strip().rsplit(":", 1)
        self.address = (host.strip("[]"), int(port))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()
        self._stderr.close()
        return code


def snapshot(address: tuple[str, int], arn: str) -> dict[str, Any]:
    """An execution's state and full history (with payloads), as the API answers them."""
    status, execution = call(address, "GET", arn_path(arn) + "?IncludeExecutionData=true")
    assert status == 200, execution
    events: list[Any] = []
    marker = ""
    while True:
        query = "?IncludeExecutionData=true&MaxItems=7" + (f"&Marker={quote(marker)}" if marker else "")
        status, page = call(address, "GET", arn_path(arn) + "/history" + query)
        assert status == 200, page
        events += page["Events"]
        marker = page.get("NextMarker") or ""
        if not marker:
            return {"execution": execution, "events": events}


def invoke(address: tuple[str, int], function: str, payload: Any, name: str, kind: str = "Event") -> str:
    status, _ = call(
        address,
        "POST",
        f"/2015-03-31/functions/{function}/invocations",
        payload,
        **{"X-Amz-Invocation-Type": kind, "X-Amz-Durable-Execution-Name": name},
    )
    assert status in (200, 202), status
    _, listed = call(
        address, "GET", f"{PREFIX}/functions/{function}/durable-executions?DurableExecutionName={name}"
    )
    return str(listed["DurableExecutions"][0]["DurableExecutionArn"])


def wait_until(address: tuple[str, int], arn: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        state = snapshot(address, arn)
        if done(state):
            return state
        assert time.monotonic() < deadline, f"{arn} never reached the expected state: {state}"
        time.sleep(0.05)


def callback_id_of(state: dict[str, Any]) -> str | None:
    for event in state["events"]:
        found = event.get("CallbackStartedDetails", {}).get("CallbackId")
        if found:
            return str(found)
    return None


def stored_type_problems(value: Any, path: str = "") -> list[str]:
    """Members of an execution or its history stored with a type the API never allows:
    error strings that are not strings, seconds that are not integers."""
    problems: list[str] = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            problems += stored_type_problems(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}"
            mistyped = (
                (key in ("ErrorMessage", "ErrorType", "ErrorData") and not isinstance(item, str))
                or (key == "StackTrace" and not all(isinstance(line, str) for line in item))
                or (key.endswith("Seconds") and (not isinstance(item, int) or isinstance(item, bool)))
            )
            if mistyped:
                problems.append(f"{where} = {item!r}")
            else:
                problems += stored_type_problems(item, where)
    return problems


def every_execution(address: tuple[str, int]) -> list[str]:
    arns: list[str] = []
    for function in FUNCTIONS:
        marker = ""
        while True:
            query = "?MaxItems=100" + (f"&Marker={quote(marker)}" if marker else "")
            status, page = call(address, "GET", f"{PREFIX}/functions/{function}/durable-executions{query}")
            assert status == 200, page
            arns += [e["DurableExecutionArn"] for e in page["DurableExecutions"]]
            marker = page.get("NextMarker") or ""
            if not marker:
                break
    return arns


# ------------------------------------------------------------------------ generation

# Raw JSON texts a member may be replaced with (text, so values json.dumps cannot write fit).
WEIRD_JSON = [
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1",
    "1.5",
    "1.0",
    "-0",
    "1e400",
    "-1e400",
    "NaN",
    "Infinity",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "-9223372036854775809",
    "1" + "0" * 40,
    "1" + "0" * 5000,
    '""',
    '" "',
    '"x"',
    '"a\\r\\nb"',
    '"\\u0000"',
    '"\\ud800"',
    '"\\udc00\\ud800"',
    '"é"',
    '"' + "x" * 300 + '"',
    '"' + "y" * 70_000 + '"',
    '"../.."',
    '"%2F"',
    '"$LATEST"',
    '"c0-9223372036854775808"',
    "[]",
    "[1]",
    '["a"]',
    "[null]",
    "{}",
    '{"a": 1}',
    '{"Id": "x"}',
    "[" * 70 + "]" * 70,
]
WEIRD_TEXT = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "1001",
    "5000",
    "9223372036854775807",
    "9223372036854775808",
    "1" * 30,
    "1e3",
    "1.5",
    "\uff11\uff12",
    " 5",
    "0x10",
    "abc",
    "true",
    "TRUE",
    "false",
    "maybe",
    "\x00",
    "\r\n",
    "é",
    "\ud800",
    "x" * 300,
    "z" * 5000,
    "c0-1",
    "c1-0",
    "c-1-5",
    "c0-99999999999999999999",
    "arn:aws:lambda",
    "../../x",
    "$LATEST",
    "RUNNING",
    "PAUSED",
    "2026-01-01T00:00:00Z",
    "1e18",
    "-1e20",
    "99999999999",
    "NaN",
]
METHODS = [
    "GET",
    "POST",
    "PUT",
    "DELETE",
    "PATCH",
    "HEAD",
    "OPTIONS",
    "TRACE",
    "CONNECT",
    "get",
    "post",
    "Delete",
    "BREW",
    "PROPFIND",
    "M-SEARCH",
    "X" * 40,
]
"""Every method a client might send: the standard ones, lower and mixed case, made-up ones."""
REQUEST_LINE_BREAKS = ["\r\n", "\n", "\r", "\r\r\n", "\x00", "\t", " \r\n "]
"""What `request_line` puts into the request line itself."""


class Generator:
    """Builds mutated requests from a valid request of each route."""

    def __init__(self, rng: random.Random, protected: list[str], victims: dict[str, str]) -> None:
        self.rng = rng
        self.protected = protected
        self.victims = victims  # arn -> callback id
        self.held: dict[str, str] | None = None
        """{"arn", "token"}: an open invocation's execution and its latest checkpoint token."""

    # -- valid values ------------------------------------------------------

    def arn(self, writable: bool = False) -> str:
        pool = [*self.victims, FAKE_ARN]
        if not writable:
            pool += self.protected
        return self.rng.choice(pool)

    def token(self) -> str:
        return self.rng.choice([base64.b64encode(os.urandom(24)).decode(), "abc123", "A" * 64 + "=="])

    def callback_id(self) -> str:
        known = [callback for callback in self.victims.values() if callback]
        forged = base64.b64encode(f"v1:{'0' * 32}:0:op:{self.rng.choice(self.protected)}".encode()).decode()
        return self.rng.choice([*known, forged, "bWlzc2luZw==", "missing"])

    def error_object(self) -> dict[str, Any]:
        return {"ErrorType": "Fuzz", "ErrorMessage": "no", "ErrorData": "{}", "StackTrace": ["a", "b"]}

    def update(self, held: bool = False) -> dict[str, Any]:
        kinds = ["STEP", "WAIT", "CALLBACK", "CONTEXT", "CHAINED_INVOKE"]
        if not held or self.rng.random() < 0.05:  # ending a held execution ends its fuzzing
            kinds.append("EXECUTION")
        kind = self.rng.choice(kinds)
        update: dict[str, Any] = {
            "Id": f"op{self.rng.randrange(20 if held else 100)}",
            "Type": kind,
            "Action": self.rng.choice(["START", "SUCCEED", "FAIL", "RETRY", "CANCEL"]),
            "Name": "fuzz",
            "SubType": "Step",
            "Payload": json.dumps({"v": 1}),
        }
        options = {
            "STEP": ("StepOptions", {"NextAttemptDelaySeconds": 5}),
            "WAIT": ("WaitOptions", {"WaitSeconds": 10}),
            "CALLBACK": ("CallbackOptions", {"TimeoutSeconds": 60, "HeartbeatTimeoutSeconds": 10}),
            "CONTEXT": ("ContextOptions", {"ReplayChildren": True}),
            "CHAINED_INVOKE": ("ChainedInvokeOptions", {"FunctionName": "succeeds", "TenantId": "t"}),
            "EXECUTION": ("Error", self.error_object()),
        }[kind]
        update[options[0]] = options[1]
        if self.rng.random() < 0.3:
            update["ParentId"] = "parent"
        return update

    def base(self, route: str) -> Request:
        rng = self.rng
        if route == "Invoke":
            function = rng.choice(
                [
                    "succeeds",
                    "fails",
                    "approval",
                    "nope",
                    "arn:aws:lambda:us-east-1:000000000000:function:succeeds",
                ]
            )
            headers = [("X-Amz-Invocation-Type", "Event")]
            if rng.random() < 0.7:
                headers.append(
                    (
                        "X-Amz-Durable-Execution-Name",
                        rng.choice(["fz-ok", "fz-failed", f"n{rng.randrange(50)}"]),
                    )
                )
            query = [("Qualifier", "$LATEST")] if rng.random() < 0.3 else []
            body = json.dumps({"order": rng.randrange(10)}).encode()
            return Request(
                route,
                "POST",
                f"/2015-03-31/functions/{quote(function, safe='')}/invocations",
                query,
                headers,
                body,
            )
        if route == "CheckpointDurableExecution":
            held = self.held is not None and rng.random() < 0.5
            body = {
                "CheckpointToken": self.held["token"] if held and self.held else self.token(),
                "Updates": [self.update(held) for _ in range(rng.randrange(4))],
            }
            if rng.random() < 0.5:
                body["ClientToken"] = f"ct-{rng.randrange(1000)}"
            arn = self.held["arn"] if held and self.held else self.arn()
            return Request(route, "POST", arn_path(arn) + "/checkpoint", body=json.dumps(body).encode())
        if route == "GetDurableExecutionState":
            if self.held is not None and rng.random() < 0.5:
                query = [("CheckpointToken", self.held["token"]), ("MaxItems", str(rng.randrange(1, 5)))]
                return Request(route, "GET", arn_path(self.held["arn"]) + "/state", query)
            query = [("CheckpointToken", self.token()), ("MaxItems", "10")]
            return Request(route, "GET", arn_path(self.arn()) + "/state", query)
        if route == "GetDurableExecution":
            return Request(
                route, "GET", arn_path(self.arn()), [("IncludeExecutionData", rng.choice(["true", "false"]))]
            )
        if route == "GetDurableExecutionHistory":
            query = [
                ("IncludeExecutionData", "true"),
                ("MaxItems", str(rng.randrange(1, 5))),
                ("ReverseOrder", "false"),
            ]
            if rng.random() < 0.5:
                query.append(("Marker", str(rng.randrange(10))))
            return Request(route, "GET", arn_path(self.arn()) + "/history", query)
        if route == "ListDurableExecutionsByFunction":
            query = [("Statuses", "RUNNING"), ("MaxItems", "5"), ("StartedAfter", "2020-01-01T00:00:00Z")]
            if rng.random() < 0.5:
                query.append(("Marker", str(rng.randrange(10))))
            function = rng.choice(FUNCTIONS)
            return Request(route, "GET", f"{PREFIX}/functions/{function}/durable-executions", query)
        if route == "StopDurableExecution":
            body = json.dumps(self.error_object()).encode() if rng.random() < 0.7 else b""
            return Request(route, "POST", arn_path(self.arn(writable=True)) + "/stop", body=body)
        callback = f"{PREFIX}/durable-execution-callbacks/{quote(self.callback_id(), safe='')}"
        if route == "SendDurableExecutionCallbackSuccess":
            return Request(route, "POST", callback + "/succeed", body=json.dumps({"ok": True}).encode())
        if route == "SendDurableExecutionCallbackFailure":
            return Request(route, "POST", callback + "/fail", body=json.dumps(self.error_object()).encode())
        return Request(route, "POST", callback + "/heartbeat")

    # -- mutations ---------------------------------------------------------

    def mutate(self, request: Request) -> None:
        mutation = self.rng.choice(
            [
                self.body_member,
                self.body_member,
                self.body_member,
                self.query_member,
                self.header_member,
                self.path_label,
                self.whole_body,
                self.deep,
                self.method,
                self.line_breaks,
                self.request_line,
                self.length,
            ]
        )
        request.mutations.append(mutation.__name__)
        mutation(request)

    def body_member(self, request: Request) -> None:
        try:
            document = json.loads(request.body) if request.body else {}
        except (ValueError, RecursionError):
            return self.whole_body(request)
        if not isinstance(document, dict):
            return self.whole_body(request)
        paths = list(_member_paths(document))
        if not paths:
            document["Extra"] = 1
            request.body = json.dumps(document).encode()
            return None
        path = self.rng.choice(paths)
        action = self.rng.random()
        sentinel = "\x00FUZZ\x00"
        if action < 0.15:
            _delete(document, path)
        elif action < 0.25:
            _set(document, [*path[:-1], "Unknown"], sentinel)
        else:
            _set(document, path, sentinel)
        text = json.dumps(document)
        request.body = text.replace(json.dumps(sentinel), self.rng.choice(WEIRD_JSON)).encode()
        return None

    def query_member(self, request: Request) -> None:
        names = [name for name, _ in request.query] or ["MaxItems", "Marker", "Statuses", "Qualifier"]
        name = self.rng.choice([*names, "Marker", "MaxItems", "StartedAfter", "StartedBefore"])
        value = self.rng.choice(WEIRD_TEXT)
        if self.rng.random() < 0.2:
            request.query.append((name, value))  # repeated
        else:
            request.query = [(n, v) for n, v in request.query if n != name] + [(name, value)]

    def header_member(self, request: Request) -> None:
        name = self.rng.choice(
            [
                "X-Amz-Invocation-Type",
                "X-Amz-Durable-Execution-Name",
                "X-Amz-Tenant-Id",
                "X-Amz-Log-Type",
                "X-Amz-Client-Context",
                "Content-Type",
                "Transfer-Encoding",
            ]
        )
        value = self.rng.choice(
            [v for v in WEIRD_TEXT if "\r" not in v and "\n" not in v and v != ""] + ["DryRun"]
        )
        if name == "X-Amz-Invocation-Type" and value == "RequestResponse":
            value = "Event"
        request.headers = [(n, v) for n, v in request.headers if n != name] + [(name, value)]

    def path_label(self, request: Request) -> None:
        segments = request.path.split("/")
        index = self.rng.randrange(1, len(segments))
        choice = self.rng.random()
        if choice < 0.5:
            segments[index] = quote(self.rng.choice(WEIRD_TEXT) or "x", safe="", errors="surrogatepass")
        elif choice < 0.7:
            segments[index] = self.rng.choice(
                ["%ZZ", "%", "%00", "%0D%0A", "%FF%FE", "%C0%AF", "..", ".", "x" * 10_000]
            )
        elif choice < 0.85:
            segments.insert(index, self.rng.choice(["", "extra", "%2F"]))
        else:
            segments = segments[:index]
        request.path = "/".join(segments) or "/"

    def whole_body(self, request: Request) -> None:
        body = request.body or b'{"a": 1}'
        choices: list[Callable[[], bytes]] = [
            lambda: self.rng.choice([b"", b" ", b"null", b"[]", b"1", b'"text"', b"{", b"}", b"{oops"]),
            lambda: self.rng.choice([b"\xff\xfe\x00", b"\xef\xbb\xbf{}", b'{"a": 1, "a": 2}']),
            lambda: body[: self.rng.randrange(len(body) + 1)],  # truncated
            lambda: body + b"garbage",
            lambda: bytes(self.rng.randrange(256) for _ in range(64)),
            lambda: b'{"Updates": ' + b"[" * 200 + b"]" * 200 + b"}",
            lambda: json.dumps({"CheckpointToken": "a", "Updates": [{"Payload": "p" * 7_000_000}]}).encode(),
            lambda: json.dumps("x" * 6_300_000).encode(),
        ]
        request.body = self.rng.choice(choices)()

    def deep(self, request: Request) -> None:
        depth = self.rng.choice([63, 64, 65, 200, 5000, 200_000])
        kind = self.rng.random()
        if kind < 0.4:
            nested = b"[" * depth + b"]" * depth
        elif kind < 0.7:
            nested = b'{"a":' * depth + b"1" + b"}" * depth
        elif kind < 0.85:
            nested = b"[" * depth  # never closed
        else:
            nested = b"[" * depth + b"}"
        where = self.rng.random()
        if where < 0.5:
            request.body = nested
        else:
            request.body = b'{"CheckpointToken": "abc", "Updates": [{"Id": "a", "Error": ' + nested + b"}]}"

    def method(self, request: Request) -> None:
        request.method = self.rng.choice([m for m in METHODS if m != request.method])

    def line_breaks(self, request: Request) -> None:
        where = self.rng.randrange(len(request.path))
        brk = self.rng.choice(["\r\n", "\n", "\r", "%0D%0A", "%0A"])
        request.raw_target = request.path[:where] + brk + request.path[where:]
        request.may_drop = request.may_drop or "%" not in brk

    def request_line(self, request: Request) -> None:
        """A CR, LF or other control character inside the request line: in or after the
        method, before the version, or in place of a space."""
        line = f"{request.method} {request.target()} HTTP/1.1"
        where = self.rng.choice([0, len(request.method), len(request.method) + 1, len(line) - 8, len(line)])
        where = self.rng.randrange(len(line) + 1) if self.rng.random() < 0.3 else where
        brk = self.rng.choice(REQUEST_LINE_BREAKS)
        request.raw_line = line[:where] + brk + line[where:]
        request.may_drop = True

    def length(self, request: Request) -> None:
        choice = self.rng.random()
        if choice < 0.5 and request.body:
            request.declared_length = len(request.body) + self.rng.randrange(1, 100)  # the body ends early
        else:
            request.declared_length = 17 * 1024 * 1024 + self.rng.randrange(1000)  # over the server's limit
        request.may_drop = True

    def generate(self) -> Request:
        route = self.rng.choice(ROUTES)
        request = self.base(route)
        for _ in range(self.rng.choice([0, 1, 1, 1, 2, 3])):
            self.mutate(request)
        return request


ROUTES = (
    "Invoke",
    "CheckpointDurableExecution",
    "GetDurableExecutionState",
    "GetDurableExecution",
    "GetDurableExecutionHistory",
    "ListDurableExecutionsByFunction",
    "StopDurableExecution",
    "SendDurableExecutionCallbackSuccess",
    "SendDurableExecutionCallbackFailure",
    "SendDurableExecutionCallbackHeartbeat",
)


def _header(head: bytes, name: str) -> str | None:
    for line in head.decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def _member_paths(value: Any, prefix: list[Any] | None = None) -> list[list[Any]]:
    prefix = prefix or []
    found: list[list[Any]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.append([*prefix, key])
        found += _member_paths(item, [*prefix, key])
    return found


def _walk(document: Any, path: list[Any]) -> Any:
    for key in path:
        document = document[key]
    return document


def _set(document: Any, path: list[Any], value: Any) -> None:
    parent = _walk(document, path[:-1])
    if isinstance(parent, dict) or (isinstance(parent, list) and isinstance(path[-1], int)):
        parent[path[-1]] = value


def _delete(document: Any, path: list[Any]) -> None:
    parent = _walk(document, path[:-1])
    del parent[path[-1]]


# ------------------------------------------------------------------------ the run


@dataclass
class FuzzReport:
    requests: int = 0
    by_route: Counter[str] = field(default_factory=Counter)
    by_status: Counter[str] = field(default_factory=Counter)
    by_mutation: Counter[str] = field(default_factory=Counter)
    by_method: Counter[str] = field(default_factory=Counter)
    """Answers by method: "GET 200", "BREW 404" ("line 400": a broken request line)."""
    failures: list[str] = field(default_factory=list)
    """Each answer >= 500, and each missing answer to a request that should have one."""
    changed: list[str] = field(default_factory=list)
    """The pre-existing executions whose state or history changed."""
    held_checkpoints: int = 0
    """Checkpoints the engine accepted from the fuzzer, with a held invocation's token."""
    holders: int = 0
    executions: int = 0
    mistyped: list[str] = field(default_factory=list)
    """Members stored with a type the API does not allow, in any execution (`stored_type_problems`)."""
    integrity: str = ""
    server_exit: int | None = None
    server_log_tracebacks: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [f"{self.requests} requests in {self.seconds:.1f} s"]
        lines.append("by route:  " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_route.items())))
        lines.append("by answer: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_status.items())))
        lines.append("mutations: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_mutation.items())))
        lines.append("by method: " + ", ".join(f"{k}: {v}" for k, v in sorted(self.by_method.items())))
        lines.append(f"answers >= 500 or missing: {len(self.failures)}")
        lines += [f"  {failure}" for failure in self.failures[:20]]
        lines.append(
            f"checkpoints accepted with a live token: {self.held_checkpoints} (over {self.holders} held invocations)"
        )
        lines.append(f"pre-existing executions changed: {len(self.changed)} {self.changed}")
        lines.append(
            f"executions read back: {self.executions}; members stored mistyped: {self.mistyped[:10]}"
        )
        lines.append(f"PRAGMA integrity_check: {self.integrity}")
        lines.append(
            f"server exit status: {self.server_exit}; tracebacks in its log: {self.server_log_tracebacks}"
        )
        return "\n".join(lines)

    @property
    def ok(self) -> bool:
        return (
            not self.failures
            and not self.changed
            and not self.mistyped
            and self.integrity == "ok"
            and self.server_exit == 0
            and self.server_log_tracebacks == 0
        )


def run_fuzz(requests: int, seed: int, workdir: Path) -> FuzzReport:
    """Fuzz a fresh `perdure serve` in `workdir` (see the module docstring)."""
    report = FuzzReport()
    started = time.monotonic()
    hold = workdir / "hold"
    hold.mkdir()
    server = Server(workdir / "fuzz.db", workdir / "server.log", hold)
    try:
        address = server.address
        protected = {
            "succeeded": invoke(address, "succeeds", {"n": 1}, "fz-ok", "RequestResponse"),
            "failed": invoke(address, "fails", {"n": 2}, "fz-failed", "RequestResponse"),
            "waiting": invoke(address, "approval", {"n": 3}, "fz-waiting"),
        }
        victims = [invoke(address, "approval", {"n": i}, f"fz-victim-{i}") for i in range(3)]
        expected = {"succeeded": "SUCCEEDED", "failed": "FAILED", "waiting": "RUNNING"}
        before: dict[str, dict[str, Any]] = {}
        for label, arn in protected.items():
            before[label] = wait_until(
                address,
                arn,
                lambda s, label=label: (
                    s["execution"]["Status"] == expected[label]
                    and (label != "waiting" or callback_id_of(s) is not None)
                ),
            )
        victim_callbacks = {
            arn: callback_id_of(wait_until(address, arn, lambda s: callback_id_of(s) is not None)) or ""
            for arn in victims
        }
        generator = Generator(random.Random(seed), list(protected.values()), victim_callbacks)
        for _ in range(requests):
            if generator.held is None and report.holders < MAX_HOLDERS:
                report.holders += 1
                generator.held = hold_invocation(address, hold, f"fz-hold-{report.holders}")
            request = generator.generate()
            outcome, status, head, body = send(address, request)
            if generator.held is not None and quote(generator.held["arn"], safe="") in request.target():
                follow_held(generator, report, request, status, body)
            new_arn = _header(head, "X-Amz-Durable-Execution-Arn")
            if request.route == "Invoke" and status == 202 and new_arn and new_arn not in protected.values():
                generator.victims.setdefault(new_arn, "")  # an execution of its own: anything goes
            report.requests += 1
            report.by_route[request.route] += 1
            for mutation in request.mutations or ["none"]:
                report.by_mutation[mutation] += 1
            answer = str(status) if outcome == "status" else outcome
            report.by_status[answer] += 1
            report.by_method[
                f"{'line' if request.raw_line is not None else request.method[:12]} {answer}"
            ] += 1
            if (outcome == "status" and status is not None and status >= 500) or (
                outcome != "status" and not request.may_drop
            ):
                shown = request.encode("x")[:300]
                report.failures.append(f"{outcome} {status} {body[:200]!r} <- {request.mutations} {shown!r}")
        for label, arn in protected.items():
            if snapshot(address, arn) != before[label]:
                report.changed.append(label)
        for arn in every_execution(address):
            report.executions += 1
            report.mistyped += stored_type_problems(snapshot(address, arn), arn.rsplit("/", 2)[-2])
    finally:
        (hold / "release").touch()  # the server waits for running invocations when it stops
        report.server_exit = server.stop()
        report.seconds = time.monotonic() - started
    report.server_log_tracebacks = server.log.read_text(errors="replace").count("Traceback")
    with sqlite3.connect(workdir / "fuzz.db") as db:
        report.integrity = "; ".join(str(row[0]) for row in db.execute("PRAGMA integrity_check"))
    return report


def hold_invocation(address: tuple[str, int], hold: Path, name: str) -> dict[str, str]:
    """Start a `holder` execution and wait for its invocation to hand over its token."""
    invoke(address, "holder", {}, name)
    ready = hold / f"{name}.json"
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert time.monotonic() < deadline, f"the holder invocation {name} never started"
        time.sleep(0.01)
    held: dict[str, str] = json.loads(ready.read_text())
    return held


def follow_held(
    generator: Generator, report: FuzzReport, request: Request, status: int | None, body: bytes
) -> None:
    """Keep the held token current; drop the held invocation once its execution ended."""
    assert generator.held is not None
    if request.route != "CheckpointDurableExecution" or request.method != "POST":
        return
    if status == 200:
        token = json.loads(body).get("CheckpointToken")
        if token:
            generator.held["token"] = token
            report.held_checkpoints += 1
    elif (
        status == 400
        and b"Invalid checkpoint token" in body
        and generator.held["token"].encode() in request.body
    ):
        generator.held = None  # its execution ended (or the token was revoked): start another


def main() -> int:
    parser = argparse.ArgumentParser(description="Fuzz `perdure serve` over HTTP and print a summary.")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("PERDURE_FUZZ_SEED", "2026")))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="perdure-fuzz-") as tmp:
        report = run_fuzz(args.requests, args.seed, Path(tmp))
        print(f"seed {args.seed}")
        print(report.summary())
        if report.server_log_tracebacks:
            print((Path(tmp) / "server.log").read_text(errors="replace")[-4000:])
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
